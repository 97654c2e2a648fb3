"""History and latest prices in Alpaca's market data shapes, read from the bar store (replica) and Redis.

    GET /v2/stocks/bars?symbols=A,B&timeframe=1Min&start&end&limit&page_token&sort
    -> {"bars": {"A": [{"t","o","h","l","c","v","n","vw"}]}, "next_page_token": ...}

Timeframes map to stored intervals (`5Min` -> `5m`, `1Hour` -> `1h`, `1Day` -> `1d`);
only intervals the platform stores are served (bar_aggregator's TP_BAR_INTERVALS and
bars imported as bars). Weeks and months (`1Week`, `1/2/3/4/6/12Month`) are rolled up
from the stored daily bars when asked: a week starts on Monday and a month on the 1st
of the UTC date the daily bars carry (they are stamped 00:00 UTC of their trading date),
and the rolled bar is stamped at that first day's 00:00 UTC; N-month periods align to
January. `vw` is the stored VWAP (sum of price x size / volume), null where unknown.
`limit` counts bars across all symbols of a page, as Alpaca does; the page token is
opaque (the last row's symbol and time). Prices go out as JSON numbers because that
is Alpaca's wire format; alpaca-py parses them as floats anyway.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from psycopg import Connection
from tradeplane.envelope import format_timestamp
from tradeplane.problems import Problem, bad_request, not_found, unprocessable

from tp_etl.bar_store import VWAP_SQL
from tp_etl.symbols import SymbolError, normalise_symbol
from tp_etl.timestamps import TimestampError, parse_timestamp

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
MAX_SYMBOLS = 100
_TIMEFRAME = re.compile(r"^([1-9][0-9]?)(Min|T|Hour|H|Day|D|Week|W|Month|M)$")
_UNIT = {"Min": "m", "T": "m", "Hour": "h", "H": "h", "Day": "d", "D": "d", "Week": "w", "W": "w", "Month": "mo",
         "M": "mo"}  # fmt: skip
MONTHS = (1, 2, 3, 4, 6, 12)  # Alpaca's month timeframes: each divides the year
ROLLED = ("w", "mo")  # units rolled up from daily bars when read


def interval_of(timeframe: str) -> str:
    """Alpaca's timeframe (`1Min`, `15T`, `1Hour`, `1Day`, `1Week`, `3Month`) -> the interval name; 422 otherwise."""
    match = _TIMEFRAME.match(timeframe)
    unit = _UNIT.get(match.group(2)) if match else None
    if match is None or unit is None:
        raise unprocessable(
            "timeframe must be N Min (1-59), N Hour (1-23), 1Day, 1Week or N Month (1, 2, 3, 4, 6, 12).",
            errors=[{"loc": "query.timeframe", "msg": "unsupported timeframe", "type": "value_error"}],
        )
    amount = int(match.group(1))
    if (
        (unit == "m" and amount > 59)
        or (unit == "h" and amount > 23)
        or (unit in ("d", "w") and amount != 1)
        or (unit == "mo" and amount not in MONTHS)
    ):
        raise unprocessable(f"timeframe {timeframe} is out of range.", errors=[{"loc": "query.timeframe",
                            "msg": "out of range", "type": "value_error"}])  # fmt: skip
    return f"{amount}{unit}"


def symbols_of(text: str) -> list[str]:
    try:
        symbols = list(dict.fromkeys(normalise_symbol(s) for s in text.split(",") if s.strip()))
    except SymbolError as exc:
        raise unprocessable(
            f"A symbol {exc}.", errors=[{"loc": "query.symbols", "msg": str(exc), "type": "value_error"}]
        ) from None
    if not symbols or len(symbols) > MAX_SYMBOLS:
        raise unprocessable(f"Give 1 to {MAX_SYMBOLS} symbols.", errors=[{"loc": "query.symbols",
                            "msg": "missing or too many", "type": "value_error"}])  # fmt: skip
    return symbols


def _time(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        return parse_timestamp(text)  # alpaca-py sends naive UTC ISO times; dates and RFC 3339 too
    except TimestampError as exc:
        raise unprocessable(
            str(exc), errors=[{"loc": f"query.{name}", "msg": str(exc), "type": "value_error"}]
        ) from None


def _token(after: tuple[str, datetime]) -> str:
    return base64.urlsafe_b64encode(json.dumps([after[0], after[1].isoformat()]).encode()).decode()


def _untoken(token: str) -> tuple[str, datetime]:
    try:
        symbol, ts = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(symbol), datetime.fromisoformat(ts).astimezone(UTC)
    except (binascii.Error, ValueError, TypeError):
        raise bad_request("The page_token is not one this server issued.") from None


@dataclass(frozen=True)
class BarQuery:
    symbols: list[str]
    interval: str
    start: datetime | None
    end: datetime | None
    limit: int
    after: tuple[str, datetime] | None
    sort: Literal["asc", "desc"]

    @classmethod
    def of(cls, symbols: str, timeframe: str, start: str | None, end: str | None, limit: int | None,
           page_token: str | None, sort: str | None) -> BarQuery:  # fmt: skip
        if limit is not None and not 1 <= limit <= MAX_LIMIT:
            raise unprocessable(f"limit must be 1 to {MAX_LIMIT}.", errors=[{"loc": "query.limit",
                                "msg": "out of range", "type": "value_error"}])  # fmt: skip
        if sort not in (None, "asc", "desc"):
            raise unprocessable("sort must be asc or desc.", errors=[{"loc": "query.sort", "msg": "asc or desc",
                                "type": "value_error"}])  # fmt: skip
        return cls(symbols_of(symbols), interval_of(timeframe), _time(start, "start"), _time(end, "end"),
                   limit or DEFAULT_LIMIT, _untoken(page_token) if page_token else None,
                   "desc" if sort == "desc" else "asc")  # fmt: skip

    @classmethod
    def from_query(cls, query: Mapping[str, str], symbol: str | None = None) -> BarQuery:
        """From the query string (`symbol`: the path's, for the one-symbol route)."""
        limit = query.get("limit")
        if limit is not None and not limit.isdigit():
            raise unprocessable("limit must be a whole number.", errors=[{"loc": "query.limit",
                                "msg": "not an integer", "type": "int_parsing"}])  # fmt: skip
        symbols = symbol if symbol is not None else query.get("symbols", "")
        timeframe = query.get("timeframe")
        if not timeframe:
            raise unprocessable("timeframe is required.", errors=[{"loc": "query.timeframe", "msg": "missing",
                                "type": "missing"}])  # fmt: skip
        return cls.of(symbols, timeframe, query.get("start"), query.get("end"), int(limit) if limit else None,
                      query.get("page_token"), query.get("sort"))  # fmt: skip


_PAGE = """
  and (%(after_symbol)s::text is null or symbol > %(after_symbol)s
       or (symbol = %(after_symbol)s and bucket_start {cmp} %(after_ts)s))
order by symbol, bucket_start {direction}
limit %(limit)s
"""
_BARS = (
    """
select symbol, bucket_start, open, high, low, close, volume, trade_count, """
    + VWAP_SQL
    + """ as vwap
from market.bars
where symbol = any(%(symbols)s) and interval = %(interval)s
  and (%(start)s::timestamptz is null or bucket_start >= %(start)s)
  and (%(end)s::timestamptz is null or bucket_start <= %(end)s)"""
    + _PAGE
)
# Weeks and months from the daily bars: a period's open is its first day's, its close its last day's; its
# VWAP is known only when every day's notional is. The days read are bounded by a year either side of the
# asked range (no period is longer); the periods served are those from the one holding `start` (whole) to
# the last one starting by `end`.
_PERIOD = {
    "w": "date_trunc('week', bucket_start at time zone 'UTC') at time zone 'UTC'",
    "mo": "make_timestamptz(extract(year from bucket_start at time zone 'UTC')::int, "
    "((extract(month from bucket_start at time zone 'UTC')::int - 1) / %(months)s::int) * %(months)s::int + 1, "
    "1, 0, 0, 0, 'UTC')",
}
_ROLLED = (
    """
select * from (
    select symbol, {period} as bucket_start,
           (array_agg(open order by bucket_start))[1] as open, max(high) as high, min(low) as low,
           (array_agg(close order by bucket_start desc))[1] as close, sum(volume) as volume,
           sum(trade_count)::integer as trade_count,
           case when count(notional) = count(*) then round(sum(notional) / nullif(sum(volume), 0), 8) end as vwap
    from market.bars
    where symbol = any(%(symbols)s) and interval = '1d'
      and (%(start)s::timestamptz is null or bucket_start >= %(start)s::timestamptz - interval '1 year')
      and (%(end)s::timestamptz is null or bucket_start <= %(end)s::timestamptz + interval '1 year')
    group by symbol, 2
) periods
where (%(start)s::timestamptz is null or bucket_start >= {start_period})
  and (%(end)s::timestamptz is null or bucket_start <= %(end)s)"""
    + _PAGE
)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _bar_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "t": format_timestamp(row["bucket_start"]).replace(".000000Z", "Z"),
        "o": _number(row["open"]),
        "h": _number(row["high"]),
        "l": _number(row["low"]),
        "c": _number(row["close"]),
        "v": _number(row["volume"]),
        "n": row["trade_count"],
        "vw": None if row["vwap"] is None else _number(row["vwap"]),  # null: unknown (bar_store.VWAP_SQL)
    }


def read_bars(conn: Connection[Any], query: BarQuery) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    """One page of bars by symbol, and the token of the next page (None when this is the last)."""
    amount, unit = int(query.interval.rstrip("mhdwo")), query.interval.lstrip("0123456789")
    template = _BARS
    if unit in ROLLED:  # the period holding `start` is served whole
        start_period = _PERIOD[unit].replace("bucket_start", "%(start)s::timestamptz")
        template = _ROLLED.replace("{period}", _PERIOD[unit]).replace("{start_period}", start_period)
    sql = template.format(cmp="<" if query.sort == "desc" else ">", direction=query.sort)
    rows = conn.execute(sql, {
        "symbols": query.symbols, "interval": query.interval, "start": query.start, "end": query.end, "months": amount,
        "after_symbol": query.after[0] if query.after else None, "after_ts": query.after[1] if query.after else None,
        "limit": query.limit + 1,
    }).fetchall()  # fmt: skip
    page, more = rows[: query.limit], len(rows) > query.limit
    bars: dict[str, list[dict[str, Any]]] = {}
    for row in page:
        bars.setdefault(row["symbol"], []).append(_bar_json(row))
    token = _token((page[-1]["symbol"], page[-1]["bucket_start"])) if more else None
    return bars, token


# --------------------------------------------------------------------------- latest trade and quote (Redis)


def _micros_to_iso(micros: bytes | str) -> str:
    return format_timestamp(datetime.fromtimestamp(int(micros) / 1_000_000, UTC))


def _decode(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v) for k, v in raw.items()
    }


def latest(redis: Any, kind: Literal["trades", "quotes"], symbols: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The latest trade or quote of each symbol that has one (symbols without are left out, as Alpaca does)."""
    from tradeplane.contracts.market import latest_price_key, latest_quote_key

    key_of = latest_price_key if kind == "trades" else latest_quote_key
    pipe = redis.pipeline(transaction=False)
    for symbol in symbols:
        pipe.hgetall(key_of(symbol))
    out: dict[str, dict[str, Any]] = {}
    for symbol, raw in zip(symbols, pipe.execute(), strict=True):
        fields = _decode(raw or {})
        if "t" not in fields:
            continue
        if kind == "trades":
            out[symbol] = {"t": _micros_to_iso(fields["t"]), "p": _number(Decimal(fields["p"])),
                           "s": _number(Decimal(fields.get("s") or "0"))}  # fmt: skip
        else:
            out[symbol] = {
                "t": _micros_to_iso(fields["t"]),
                **{k: _number(Decimal(fields[k])) for k in ("bp", "bs", "ap", "as")},
            }
            if fields.get("x"):
                out[symbol].update({"bx": fields["x"], "ax": fields["x"]})
    return out


def latest_one(redis: Any, kind: Literal["trades", "quotes"], symbol: str) -> dict[str, Any]:
    found = latest(redis, kind, symbols_of(symbol))
    if not found:
        raise not_found(f"No {kind[:-1]} is known for {symbol[:16]}.")
    return next(iter(found.values()))


__all__ = ["BarQuery", "Problem", "interval_of", "latest", "latest_one", "read_bars", "symbols_of"]
