"""A streaming read replica of the harness's PostgreSQL: lagging reads go there, or to the primary when it is down."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from tradeplane import db
from tradeplane_local import servers

pytestmark = pytest.mark.integration


def _same_db(url: str, like: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=urlsplit(like).path))


@pytest.fixture(scope="module")
def replica(postgres_server: servers.Server, pg_dsn: str) -> Iterator[servers.Server]:
    with psycopg.connect(pg_dsn, autocommit=True) as c:  # exists before the base backup
        c.execute("create table notes (id int primary key, body text)")
    # Not under pytest's tmp tree: postgres runs as another user when we are root (see tests/conftest.py).
    state = Path(tempfile.mkdtemp(prefix="tradeplane-test-replica-"))
    srv = servers.start_postgres_replica(state, postgres_server, durable=False)
    yield srv
    servers.stop(srv)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, pg_dsn: str, replica: servers.Server) -> str:
    read_dsn = _same_db(replica.url, pg_dsn)
    monkeypatch.setenv("TP_DB_DSN", pg_dsn)
    monkeypatch.setenv("TP_DB_READ_DSN", read_dsn)
    monkeypatch.setenv("TP_DB_REPLICA_TIMEOUT_S", "1")
    return read_dsn


def _in_recovery(conn: db.DbConnection) -> bool:
    row = conn.execute("select pg_is_in_recovery() as standby").fetchone()
    assert row is not None
    return bool(row["standby"])


def test_a_write_on_the_primary_is_read_on_the_replica(env: str, postgres_server: servers.Server) -> None:
    with db.transaction() as conn:
        assert not _in_recovery(conn)  # writes and read-after-write: the primary
        conn.execute("insert into notes values (1, 'hello')")
    deadline = time.monotonic() + 10
    seen = None
    while seen is None and time.monotonic() < deadline:
        with db.connection(read_only=True) as conn:
            assert _in_recovery(conn)  # lag-tolerant reads: the replica
            seen = conn.execute("select body from notes where id = 1").fetchone()
        time.sleep(0.05)
    assert seen == {"body": "hello"}
    assert postgres_server.url
    lags = servers.replication_lag_s(postgres_server.url)
    assert lags, "the primary lists its standby"


def test_each_checkout_is_counted_by_the_server_that_served_it(
    env: str, replica: servers.Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradeplane.observability import metrics

    monkeypatch.setattr(metrics, "namespace", "Test")  # as inside an instrumented function
    metrics.metric_set.clear()

    def counted() -> dict[str, float]:
        return {name: sum(m["Value"]) for name, m in metrics.metric_set.items()}

    with db.connection(read_only=True) as conn:
        assert _in_recovery(conn)
    with db.transaction() as conn:
        conn.execute("select 1")
    assert counted() == {db.REPLICA_READS: 1, db.WRITER_CHECKOUTS: 1}
    monkeypatch.setenv("TP_DB_READ_DSN", os.environ["TP_DB_DSN"])  # no replica: lag-tolerant reads on the primary
    from tradeplane.settings import reset_settings

    reset_settings()
    with db.connection(read_only=True) as conn:
        assert not _in_recovery(conn)
    assert counted() == {db.REPLICA_READS: 1, db.WRITER_CHECKOUTS: 1, db.PRIMARY_READS: 1}
    metrics.metric_set.clear()


def test_reads_fall_back_to_the_primary_when_the_replica_is_down(
    env: str, replica: servers.Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradeplane.observability import logger

    warnings: list[str] = []
    real_warning = logger.warning

    def recording(msg: object, *args: object, **kwargs: object) -> None:
        warnings.append(str(msg))
        real_warning(msg, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(logger, "warning", recording)
    servers.stop(replica)
    with db.connection(read_only=True) as conn:
        assert not _in_recovery(conn)
        assert conn.execute("select count(*) as n from notes").fetchone() is not None
    assert warnings == ["read replica unavailable; reading from the primary"]
    # Skipped for a while now: the next read goes straight to the primary, with no second warning.
    with db.connection(read_only=True) as conn:
        assert not _in_recovery(conn)
    assert len(warnings) == 1
