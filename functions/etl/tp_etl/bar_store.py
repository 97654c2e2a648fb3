"""SQL for market.bars: merge partial bars, close finished ones."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg import Connection
from tradeplane.contracts.market import BAR_INTERVAL, Bar, interval_length

from tp_etl.bars import PartialBar

_BAR_COLUMNS = "symbol, interval, bucket_start, open, high, low, close, volume, trade_count, revision, vwap"
# The VWAP from the stored notional (sum of price x size): unknown when the notional is, none without volume.
VWAP_SQL = "round(notional / nullif(volume, 0), 8)"

# The partials travel as one JSON text (numbers as their Decimal strings, times in ISO form with their offset):
# psycopg dumps twelve array parameters element by element in Python. Only the revised bars come back.
_MERGE = f"""
with merged as (
insert into market.bars as b
    (symbol, interval, bucket_start, open, high, low, close, volume, trade_count, open_ts, close_ts, notional)
select * from json_to_recordset(%s::json) as p(symbol text, interval text, bucket_start timestamptz,
    open numeric, high numeric, low numeric, close numeric, volume numeric, trade_count integer,
    open_ts timestamptz, close_ts timestamptz, notional numeric)
on conflict (symbol, interval, bucket_start) do update set
    open = case when excluded.open_ts < b.open_ts then excluded.open else b.open end,
    open_ts = least(b.open_ts, excluded.open_ts),
    close = case when excluded.close_ts >= b.close_ts then excluded.close else b.close end,
    close_ts = greatest(b.close_ts, excluded.close_ts),
    high = greatest(b.high, excluded.high),
    low = least(b.low, excluded.low),
    volume = b.volume + excluded.volume,
    trade_count = b.trade_count + excluded.trade_count,
    notional = b.notional + excluded.notional,  -- stays unknown once unknown
    revision = b.revision + case when b.closed then 1 else 0 end,
    updated_at = now()
returning {_BAR_COLUMNS.replace("vwap", VWAP_SQL + " as vwap")}, closed
)
select {_BAR_COLUMNS} from merged where closed
"""

_RETURNING = ", ".join("b." + c.strip() for c in _BAR_COLUMNS.split(",") if c.strip() != "vwap")
_RETURNING += ", " + VWAP_SQL.replace("notional", "b.notional").replace("volume", "b.volume") + " as vwap"
# A bar closes when its end plus the grace window is not after the symbol's latest tick (or the clock).
_CLOSE = f"""
update market.bars as b set closed = true, updated_at = now()
from unnest(%(symbols)s::text[], %(latest)s::timestamptz[]) as l(symbol, latest),
     unnest(%(intervals)s::text[], %(lengths)s::float8[]) as i(interval, seconds)
where b.symbol = l.symbol and b.interval = i.interval and not b.closed
  and b.bucket_start + make_interval(secs => i.seconds + %(grace)s) <= l.latest
returning {_RETURNING}
"""
_CLOSE_BY_CLOCK = f"""
update market.bars as b set closed = true, updated_at = now()
from unnest(%(intervals)s::text[], %(lengths)s::float8[]) as i(interval, seconds)
where b.interval = i.interval and not b.closed
  and b.bucket_start + make_interval(secs => i.seconds + %(grace)s) <= %(now)s
returning {_RETURNING}
"""


def merge(conn: Connection[Any], partials: Sequence[PartialBar]) -> list[Bar]:
    """Merge each partial into its bar, in one statement (a batch's partials are distinct bars: one per
    symbol, interval and bucket); returns the bars that were already closed (now revised)."""
    if not partials:
        return []
    rows = [
        {
            "symbol": p.symbol,
            "interval": p.interval,
            "bucket_start": p.bucket_start.isoformat(),
            "open": str(p.open),
            "high": str(p.high),
            "low": str(p.low),
            "close": str(p.close),
            "volume": str(p.volume),
            "trade_count": p.trade_count,
            "open_ts": p.open_ts.isoformat(),
            "close_ts": p.close_ts.isoformat(),
            "notional": str(p.notional),
        }
        for p in partials
    ]
    return _sorted(conn.execute(_MERGE, (json.dumps(rows),)).fetchall())


def _intervals(intervals: Sequence[str], grace: timedelta) -> dict[str, Any]:
    lengths = [interval_length(i).total_seconds() for i in intervals]
    return {"intervals": list(intervals), "lengths": lengths, "grace": grace.total_seconds()}


def _sorted(rows: Sequence[Mapping[str, Any]]) -> list[Bar]:
    return sorted((Bar.model_validate(r) for r in rows), key=lambda b: (b.symbol, b.interval, b.bucket_start))


def close_before(
    conn: Connection[Any],
    latest: Mapping[str, datetime],
    intervals: Sequence[str] = (BAR_INTERVAL,),
    grace: timedelta = timedelta(0),
) -> list[Bar]:
    """Close every open bar of a symbol whose end plus `grace` is not after that symbol's latest tick."""
    if not latest:
        return []
    params = {"symbols": list(latest), "latest": list(latest.values()), **_intervals(intervals, grace)}
    return _sorted(conn.execute(_CLOSE, params).fetchall())


def close_by_clock(conn: Connection[Any], now: datetime, intervals: Sequence[str], grace: timedelta) -> list[Bar]:
    """Close every open bar (of any symbol) whose end plus `grace` has passed by the clock: quiet symbols."""
    return _sorted(conn.execute(_CLOSE_BY_CLOCK, {"now": now, **_intervals(intervals, grace)}).fetchall())


# Bars that arrive as bars (a vendor's file) replace the stored bar of their bucket and are final; the
# revision grows only when a value changes, so importing the same file twice changes nothing.
_IMPORT = """
insert into market.bars as b
    (symbol, interval, bucket_start, open, high, low, close, volume, trade_count, open_ts, close_ts, closed, notional)
values (%(symbol)s, %(interval)s, %(bucket_start)s, %(open)s, %(high)s, %(low)s, %(close)s, %(volume)s,
        %(trade_count)s, %(bucket_start)s, %(bucket_start)s, true, %(vwap)s::numeric * %(volume)s::numeric)
on conflict (symbol, interval, bucket_start) do update set
    revision = b.revision + case when (b.open, b.high, b.low, b.close, b.volume, b.trade_count, b.notional)
        is distinct from (excluded.open, excluded.high, excluded.low, excluded.close, excluded.volume,
                          excluded.trade_count, excluded.notional) then 1 else 0 end,
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
    volume = excluded.volume, trade_count = excluded.trade_count, notional = excluded.notional, closed = true,
    updated_at = now()
"""


def store_imported(conn: Connection[Any], bars: Sequence[Bar]) -> int:
    """Upsert bars read from a source as they are; returns how many rows were written."""
    if not bars:
        return 0
    with conn.cursor() as cur:
        cur.executemany(_IMPORT, [b.model_dump(mode="python") for b in bars])
    return len(bars)
