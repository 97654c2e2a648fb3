"""Stored bars read back for strategies against the real PostgreSQL: ranges, the last N closed, open bars left out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from psycopg.rows import dict_row
from tp_strategy.bar_history import bars_between, last_closed_bars
from tradeplane_tools.migrate import apply_migrations

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.fixture(scope="module")
def conn(pg_dsn: str) -> Iterator[psycopg.Connection]:  # type: ignore[type-arg]
    apply_migrations(pg_dsn)
    with psycopg.connect(pg_dsn, row_factory=dict_row) as c:
        rows = []
        for i in range(10):  # AAPL 1m: bars 0..8 closed, bar 9 still open
            rows.append(("AAPL", "1m", T0 + i * MIN, 100 + i, 101 + i, 99 + i, Decimal(f"100.{i}5"), 10 * i, i < 9))
        rows.append(("AAPL", "5m", T0, 1, 2, 1, 2, 5, True))  # another interval
        rows.append(("MSFT", "1m", T0 + MIN, 400, 401, 399, 400, 1, True))  # another symbol
        with c.cursor() as cur:
            cur.executemany(
                "insert into market.bars (symbol, interval, bucket_start, open, high, low, close, volume, closed)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        c.commit()
        yield c


def test_range_is_half_open_closed_only_and_in_order(conn: psycopg.Connection) -> None:  # type: ignore[type-arg]
    got = list(bars_between(conn, "AAPL", "1m", T0 + 2 * MIN, T0 + 20 * MIN))
    assert [b.ts for b in got] == [T0 + i * MIN for i in range(2, 9)]  # bar 9 is open
    first = got[0]
    assert (first.symbol, first.open, first.high, first.low, first.close, first.volume) == (
        "AAPL", Decimal(102), Decimal(103), Decimal(101), Decimal("100.25"), Decimal(20),
    )  # fmt: skip
    assert first.ts.tzinfo is not None
    assert [b.ts for b in bars_between(conn, "AAPL", "1m", T0, T0 + 2 * MIN)] == [T0, T0 + MIN]


def test_last_closed_bars_before_t(conn: psycopg.Connection) -> None:  # type: ignore[type-arg]
    got = last_closed_bars(conn, "AAPL", "1m", T0 + 5 * MIN, 3)
    assert [b.ts for b in got] == [T0 + 2 * MIN, T0 + 3 * MIN, T0 + 4 * MIN]  # oldest first, bar 5 excluded
    assert [b.ts for b in last_closed_bars(conn, "AAPL", "1m", T0 + 60 * MIN, 2)] == [T0 + 7 * MIN, T0 + 8 * MIN]
    assert len(last_closed_bars(conn, "AAPL", "1m", T0 + 2 * MIN, 50)) == 2
    assert last_closed_bars(conn, "AAPL", "1m", T0 + 5 * MIN, 0) == []
    assert [b.close for b in last_closed_bars(conn, "MSFT", "1m", T0 + 5 * MIN, 5)] == [Decimal(400)]


def test_naive_times_are_refused(conn: psycopg.Connection) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match="timezone-aware"):
        last_closed_bars(conn, "AAPL", "1m", datetime(2026, 11, 24), 3)
