"""The harness itself: each real server answers, and isolation holds."""

import psycopg
import pytest
import redis
from confluent_kafka.admin import AdminClient

pytestmark = pytest.mark.integration


def test_postgres_database_is_private_to_module(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        name = conn.execute("select current_database()").fetchone()
    assert name is not None and name[0].startswith("t_test_harness_")


def test_redis_answers(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("k", "v")
    assert client.get("k") == b"v"


def test_topics_are_unique_per_call(new_topic, kafka_bootstrap: str) -> None:  # type: ignore[no-untyped-def]
    a, b = new_topic("x", partitions=3), new_topic("x")
    assert a != b
    meta = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=5)
    assert len(meta.topics[a].partitions) == 3


def test_server_that_fails_to_start_is_named_with_its_log(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tradeplane_local import servers

    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'FATAL: cannot bind' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(servers, "REDIS_BIN", fake)
    with pytest.raises(servers.ServerStartError) as exc:
        servers.start_redis(tmp_path)
    message = str(exc.value)
    assert message.startswith("redis failed to start: process exited with code 3")
    assert str(tmp_path / "redis" / "redis.log") in message and "FATAL: cannot bind" in message


def test_given_url_is_used_and_never_stopped(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tradeplane_local import servers

    srv = servers.start("redis", tmp_path, url="redis://example.invalid:6379/0")
    assert srv.url == "redis://example.invalid:6379/0" and not srv.managed
    servers.stop(srv)  # a no-op: not ours
