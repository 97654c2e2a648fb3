"""Migrations (yoyo) and the applied-event inbox against a real Postgres."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tradeplane import db, inbox
from tradeplane_tools.migrate import DEFAULT_MIGRATIONS_DIR, applied_migrations, apply_migrations, pending_migrations

pytestmark = pytest.mark.integration

EXPECTED = ["0001_schemas", "0002_market_bars", "0003_ops_inbox"]


@pytest.fixture(scope="module")
def migrated(pg_dsn: str) -> str:
    assert pending_migrations(pg_dsn)[: len(EXPECTED)] == EXPECTED
    applied = apply_migrations(pg_dsn)
    assert applied[: len(EXPECTED)] == EXPECTED
    return pg_dsn


def test_default_directory_is_repo_migrations() -> None:
    assert DEFAULT_MIGRATIONS_DIR.name == "migrations"
    assert (DEFAULT_MIGRATIONS_DIR / "0001_schemas.sql").is_file()


def test_reapply_is_a_no_op(migrated: str) -> None:
    assert apply_migrations(migrated) == []
    assert pending_migrations(migrated) == []
    assert applied_migrations(migrated)[: len(EXPECTED)] == EXPECTED


def test_concurrent_apply_is_serialised(pg_dsn: str, tmp_path: Path) -> None:
    # A fresh migration applied by two threads at once: yoyo's lock lets exactly one apply it.
    (tmp_path / "0001_x.sql").write_text("-- depends:\ncreate table public.concurrent_probe (id int);\n")
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(apply_migrations(pg_dsn, tmp_path))
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(results) == [[], ["0001_x"]]


def test_schemas_and_tables_exist(migrated: str) -> None:
    with psycopg.connect(migrated) as conn:
        schemas = {r[0] for r in conn.execute("select schema_name from information_schema.schemata")}
        assert {"core", "trading", "market", "strategy", "ops"} <= schemas
        cols = conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'market' and table_name = 'bars' order by ordinal_position"
        ).fetchall()
    # Later migrations may add columns; these are the contract from 0002_market_bars.
    assert [c[0] for c in cols][:10] == [
        "symbol", "interval", "bucket_start", "open", "high", "low", "close",
        "volume", "trade_count", "updated_at",
    ]  # fmt: skip
    types = dict(cols)
    assert types["open"] == "numeric" and types["volume"] == "numeric"
    assert types["bucket_start"] == "timestamp with time zone"


def test_bars_round_trip_decimals(migrated: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_DB_DSN", migrated)
    start = datetime(2024, 5, 1, 14, 30, tzinfo=UTC)
    with db.transaction() as conn:
        conn.execute(
            "insert into market.bars (symbol, interval, bucket_start, open, high, low, close, volume, trade_count)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            ("AAPL", "1m", start, Decimal("189.10"), Decimal("189.50"), Decimal("189.00"), Decimal("189.25"),
             Decimal("1200.5"), 7),
        )  # fmt: skip
    with db.connection(read_only=True) as conn:
        row = conn.execute("select * from market.bars where symbol = 'AAPL'").fetchone()
    assert row is not None
    assert row["close"] == Decimal("189.25") and row["volume"] == Decimal("1200.5")
    assert row["bucket_start"] == start


def test_inbox_claim_true_then_false(migrated: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_DB_DSN", migrated)
    with db.transaction() as conn:
        assert inbox.claim(conn, "bar_aggregator", "evt-1") is True
    with db.transaction() as conn:
        assert inbox.claim(conn, "bar_aggregator", "evt-1") is False
        assert inbox.claim(conn, "order_matcher", "evt-1") is True  # per consumer
        assert inbox.is_applied(conn, "bar_aggregator", "evt-1")


def test_inbox_claim_rolls_back_with_the_effect(migrated: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_DB_DSN", migrated)
    with pytest.raises(RuntimeError), db.transaction() as conn:
        assert inbox.claim(conn, "executor", "evt-2") is True
        raise RuntimeError("effect failed")
    with db.transaction() as conn:
        assert inbox.claim(conn, "executor", "evt-2") is True  # the failed attempt left nothing behind


# Any id the envelope allows (1-128 characters; PostgreSQL text holds no NUL and no lone surrogate).
_IDS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=128)


@given(first=st.lists(_IDS, max_size=20), second=st.lists(_IDS, max_size=20))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_claim_many_returns_exactly_the_new_ids_and_stores_them_verbatim(
    migrated: str, monkeypatch: pytest.MonkeyPatch, first: list[str], second: list[str]
) -> None:
    # claim_many sends the ids as one JSON text, not psycopg's text[]: quotes, commas, braces, backslashes
    # and any other character must arrive as the same ids (the consumer name is unique per example).
    monkeypatch.setenv("TP_DB_DSN", migrated)
    consumer = f"prop-{uuid.uuid4()}"
    with db.transaction() as conn:
        assert inbox.claim_many(conn, consumer, first) == set(first)
        assert inbox.claim_many(conn, consumer, first + second) == set(second) - set(first)
        stored = conn.execute("select event_id from ops.inbox where consumer = %s", (consumer,)).fetchall()
        assert sorted(r["event_id"] for r in stored) == sorted(set(first) | set(second))
        assert all(inbox.is_applied(conn, consumer, e) for e in first + second)


def test_claim_many_refuses_empty_ids(migrated: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_DB_DSN", migrated)
    with db.transaction() as conn:
        with pytest.raises(ValueError, match="must not be empty"):
            inbox.claim_many(conn, "bar_aggregator", ["a", ""])
        assert inbox.claim_many(conn, "bar_aggregator", []) == set()
