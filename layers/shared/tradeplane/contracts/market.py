"""Market data events: `market.tick` on `market.ticks` and `market.bar` on `market.bars`, keyed by symbol."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

TICK_EVENT = "market.tick"
QUOTE_EVENT = "market.quote"  # also on market.ticks, keyed by symbol: consumers of trades skip it by type
BAR_EVENT = "market.bar"
BAR_INTERVAL = "1m"


# Market data before the Unix epoch is not a thing this platform trades on; the bound also keeps every
# timestamp far from datetime's edges, where converting an offset to UTC overflows.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a UTC offset (e.g. 2026-11-24T14:30:00Z)")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp is out of range") from None
    if utc < EARLIEST:
        raise ValueError("timestamp is before 1970-01-01T00:00:00Z")
    return utc


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
Symbol = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9.\-]{0,15}$", description="instrument symbol, e.g. AAPL")]
Price = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=8, allow_inf_nan=False)]
Quantity = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=8, allow_inf_nan=False)]
# A trade print always has a size; zero would add a trade to a bar's count with no volume.
TradeSize = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=8, allow_inf_nan=False)]


class Tick(BaseModel):
    """One trade print. Prices and sizes are decimals, sent as JSON strings or numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: Symbol
    price: Price
    size: TradeSize
    ts: UtcDatetime
    venue: Annotated[str, Field(max_length=16)] | None = None
    # The source's own sequence number; with `source` it makes the tick's identity.
    seq: Annotated[int, Field(ge=0)] | None = None


class Quote(BaseModel):
    """One top-of-book quote: best bid and ask with their sizes (a side may be empty: size 0)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: Symbol
    bid: Price
    bid_size: Quantity
    ask: Price
    ask_size: Quantity
    ts: UtcDatetime
    venue: Annotated[str, Field(max_length=16)] | None = None


class Bar(BaseModel):
    """An OHLCV bar; `revision` grows when late ticks change a bar already published."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    interval: str
    bucket_start: UtcDatetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trade_count: int
    revision: int = 0
    # Volume-weighted average price (sum of price x size / volume); None when unknown (a bar imported
    # without one, or stored before VWAPs were kept). Additive: older events have no such member.
    vwap: Decimal | None = None

    @property
    def bucket_end(self) -> datetime:
        return self.bucket_start + interval_length(self.interval)


_INTERVAL = re.compile(r"^([1-9][0-9]{0,2})([mhd])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def interval_length(interval: str) -> timedelta:
    """`"1m"` -> 1 minute, `"15m"`, `"1h"`, `"1d"` (UTC days). Raises ValueError for anything else."""
    match = _INTERVAL.match(interval)
    if match is None:
        raise ValueError(f"{interval!r} is not a bar interval (e.g. 1m, 5m, 1h, 1d)")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def bucket_of(ts: datetime, interval: str = BAR_INTERVAL) -> datetime:
    """The start of the `interval` bucket holding `ts` (buckets are aligned to the Unix epoch, in UTC)."""
    utc = ts.astimezone(UTC)
    if interval == BAR_INTERVAL:
        return utc.replace(second=0, microsecond=0)
    seconds = int(interval_length(interval).total_seconds())
    return EARLIEST + timedelta(seconds=int((utc - EARLIEST).total_seconds()) // seconds * seconds)


# Members a producer adds beside the payload's fields: the source feed and cleaning flags (e.g. "outlier").
ENVELOPE_EXTRAS = frozenset({"source", "flags"})


def tick_from_envelope(envelope: Any) -> Tick:
    """The tick inside a `market.tick` envelope (the envelope also names its source feed and flags)."""
    data = {k: v for k, v in envelope.data.items() if k not in ENVELOPE_EXTRAS}
    return Tick.model_validate(data)


def quote_from_envelope(envelope: Any) -> Quote:
    """The quote inside a `market.quote` envelope."""
    data = {k: v for k, v in envelope.data.items() if k not in ENVELOPE_EXTRAS}
    return Quote.model_validate(data)


# The latest trade price per symbol in Redis: a hash at `px:<SYMBOL>` with `p` (decimal string)
# and `t` (trade time, epoch microseconds). The ETL keeps it; the Core API reads it for risk
# checks and valuations. A cache only: a missing key means "no price known".
LATEST_PRICE_TTL_S = 7 * 24 * 3600


def latest_price_key(symbol: str) -> str:
    return f"px:{symbol}"


# The latest quote per symbol: a hash at `qt:<SYMBOL>` with `bp`, `bs`, `ap`, `as` (decimal strings),
# `t` (epoch microseconds) and `x` (venue, may be empty); same TTL. The px: hash also carries the
# trade's size as `s` (decimal string) for the latest-trade route.
def latest_quote_key(symbol: str) -> str:
    return f"qt:{symbol}"
