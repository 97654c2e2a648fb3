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
