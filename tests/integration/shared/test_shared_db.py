"""tradeplane.db against a real Postgres: pooling, reconnects, read routing, transactions."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from tradeplane import db

pytestmark = pytest.mark.integration


@pytest.fixture
def primary(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TP_DB_DSN", pg_dsn)
    monkeypatch.setenv("TP_FUNCTION", "test_fn")
    return pg_dsn


def test_same_connection_reused_across_calls(primary: str) -> None:
    with db.connection() as first:
        pid1 = first.info.backend_pid
        row = first.execute("select 1 as one").fetchone()
        assert row == {"one": 1}  # dict_row
    with db.connection() as second:
        assert second is first
        assert second.info.backend_pid == pid1
        assert second.autocommit is False
        assert second.prepare_threshold is None
        app = second.execute("select current_setting('application_name') as a").fetchone()
        assert app == {"a": "test_fn"}
    assert len(db._pools) == 1


def test_reconnects_after_backend_killed(primary: str) -> None:
    with db.connection() as conn:
        pid = conn.info.backend_pid
    with psycopg.connect(primary, autocommit=True) as admin:
        killed = admin.execute("select pg_terminate_backend(%s)", (pid,)).fetchone()
        assert killed == (True,)
    with db.connection() as conn:
        assert conn.info.backend_pid != pid
        assert conn.execute("select 2 as two").fetchone() == {"two": 2}


def test_transaction_commits_and_rolls_back(primary: str) -> None:
    with db.transaction() as conn:
        conn.execute("create table if not exists t_money (id int primary key, amount numeric not null)")
    with db.transaction() as conn:
        conn.execute("insert into t_money values (1, %s)", (Decimal("10.25"),))
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("insert into t_money values (2, 1)")
        raise RuntimeError("boom")
    with db.connection(read_only=True) as conn:
        rows = conn.execute("select id, amount from t_money order by id").fetchall()
    assert rows == [{"id": 1, "amount": Decimal("10.25")}]


def test_connection_block_commits_on_success(primary: str) -> None:
    with db.connection() as conn:
        conn.execute("create table if not exists t_c (id int)")
        conn.execute("insert into t_c values (1)")
    with db.connection() as conn:
        assert conn.execute("select count(*) as n from t_c").fetchone() == {"n": 1}


def test_read_only_uses_read_dsn_when_set(primary: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The "replica" is the same server under another application name, so routing is observable.
    replica = primary + "?application_name=replica"
    monkeypatch.setenv("TP_DB_READ_DSN", replica)
    with db.connection(read_only=True) as ro:
        assert ro.execute("select current_setting('transaction_read_only') as r").fetchone() == {"r": "on"}
        ro_pid = ro.info.backend_pid
    with db.connection() as rw:
        assert rw.execute("select current_setting('transaction_read_only') as r").fetchone() == {"r": "off"}
        assert rw.info.backend_pid != ro_pid
    assert set(db._pools) == {primary, replica}


def test_read_only_falls_back_to_primary(primary: str) -> None:
    with db.connection(read_only=True) as ro:
        ro_pid = ro.info.backend_pid
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            ro.execute("create table t_nope (id int)")
    with db.connection() as rw:
        assert rw.info.backend_pid == ro_pid  # same pool, now read-write
        rw.execute("create table t_yes (id int)")


def test_missing_dsn_is_a_configuration_error() -> None:
    from tradeplane.settings import ConfigurationError

    with pytest.raises(ConfigurationError, match="TP_DB_DSN"), db.connection():
        pass


def test_credentials_from_secret(pg_dsn: str, aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import boto3

    user = "u_" + uuid.uuid4().hex[:8]
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(f"create role {user} login password 'pw-{user}'")
    parts = urlsplit(pg_dsn)
    host_only = urlunsplit(parts._replace(netloc=f"{parts.hostname}:{parts.port}"))
    name = "rds-" + uuid.uuid4().hex[:8]
    boto3.client("secretsmanager").create_secret(
        Name=name, SecretString=json.dumps({"username": user, "password": f"pw-{user}"})
    )
    monkeypatch.setenv("TP_DB_DSN", host_only)
    monkeypatch.setenv("TP_DB_SECRET_ID", name)
    with db.connection() as conn:
        assert conn.execute("select current_user as u").fetchone() == {"u": user}
