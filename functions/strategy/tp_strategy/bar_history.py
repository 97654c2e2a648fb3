"""Stored bars (market.bars, written by the ETL) as strategies see them: closed bars, in time order.

- `bars_between(conn, symbol, interval, start, end)`: the bars of [start, end), for backtests over
  stored data; streamed in chunks, so a year of minute bars is not held as rows and objects twice.
- `last_closed_bars(conn, symbol, interval, before, n)`: the last `n` closed bars that started before
  `before`, oldest first: what the live runner replays to rebuild a strategy state Redis lost.

Only closed bars: a bar still open keeps changing, and a strategy decides on closed bars only. The
connection is the caller's (any row factory; these read tuples); the ETL domain is not imported, only
its table's columns (migrations 0002 and 0004) are relied on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from psycopg import Connection
from psycopg.rows import tuple_row

from tp_strategy.interface import BarInput

__all__ = ["bars_between", "last_closed_bars"]

_COLUMNS = "symbol, bucket_start, open, high, low, close, volume"
_CHUNK = 5_000


def _aware(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("bar history times must be timezone-aware (UTC)")
    return ts


def bars_between(
    conn: Connection[Any], symbol: str, interval: str, start: datetime, end: datetime
) -> Iterator[BarInput]:
    """Closed bars of `symbol`/`interval` with start <= bucket_start < end, oldest first."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            f"select {_COLUMNS} from market.bars where symbol = %s and interval = %s and closed"
            " and bucket_start >= %s and bucket_start < %s order by bucket_start",
            (symbol, interval, _aware(start), _aware(end)),
        )
        while rows := cur.fetchmany(_CHUNK):
            for row in rows:
                yield BarInput(*row)


def last_closed_bars(conn: Connection[Any], symbol: str, interval: str, before: datetime, n: int) -> list[BarInput]:
    """The last `n` closed bars of `symbol`/`interval` that started before `before`, oldest first."""
    if n <= 0:
        return []
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            f"select {_COLUMNS} from market.bars where symbol = %s and interval = %s and closed"
            " and bucket_start < %s order by bucket_start desc limit %s",
            (symbol, interval, _aware(before), n),
        )
        rows = cur.fetchall()
    return [BarInput(*row) for row in reversed(rows)]
