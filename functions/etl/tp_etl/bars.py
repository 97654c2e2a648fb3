"""Roll ticks up into OHLCV bars (one-minute, plus any larger intervals configured) and say which to publish.

A bar closes once a tick of the same symbol arrives at or after its end plus
the grace window (ticks of one symbol share a partition, so they arrive mostly
in order), or when the clock passes that point (`bar_closer`, for quiet
symbols). A late tick inside the grace window simply joins the open bar; a
later one revises the closed bar and the revision is published again. Event
ids are deterministic, so a redelivered batch republishes the same ids and
consumers drop the copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, DecimalException, Inexact, Rounded, localcontext
from typing import Protocol

from tradeplane.contracts.market import BAR_EVENT, BAR_INTERVAL, EARLIEST, Bar, interval_length
from tradeplane.envelope import Envelope


class Trade(Protocol):
    """What folding reads of a trade: a `Tick`, or a `TradeRow` decoded without a model (`tp_etl.tick_batch`)."""

    @property
    def symbol(self) -> str: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def size(self) -> Decimal: ...
    @property
    def ts(self) -> datetime: ...


@dataclass(slots=True)
class PartialBar:
    """What one batch contributes to one (symbol, interval, bucket) bar."""

    symbol: str
    interval: str
    bucket_start: datetime
    open: Decimal
    open_ts: datetime
    high: Decimal
    low: Decimal
    close: Decimal
    close_ts: datetime
    volume: Decimal = Decimal(0)
    trade_count: int = 0
    notional: Decimal = Decimal(0)  # sum of price x size: the VWAP's numerator

    def add(self, tick: Trade) -> None:
        price, ts = tick.price, tick.ts
        if ts < self.open_ts:
            self.open, self.open_ts = price, ts
        if ts >= self.close_ts:
            self.close, self.close_ts = price, ts
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.volume += tick.size
        self.notional += price * tick.size
        self.trade_count += 1

    def params(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}

    def absorb(self, finer: PartialBar) -> None:
        """Add a finer partial of the same symbol whose bucket lies inside this one (`fold`'s larger intervals).

        The result is `add` of the finer partial's ticks, provided the caller traps rounding (sums are then
        exact, so their grouping cannot matter): the finer buckets' times do not overlap, so open and close
        are the same ticks. Among equal highs (lows) `add` keeps the first tick to arrive, which two finer
        partials cannot tell: equal values written differently ("10.0", "10.00") raise `_Ambiguous`."""
        if finer.open_ts < self.open_ts:
            self.open, self.open_ts = finer.open, finer.open_ts
        if finer.close_ts >= self.close_ts:
            self.close, self.close_ts = finer.close, finer.close_ts
        if finer.high > self.high:
            self.high = finer.high
        elif finer.high == self.high and finer.high.as_tuple() != self.high.as_tuple():
            raise _Ambiguous
        if finer.low < self.low:
            self.low = finer.low
        elif finer.low == self.low and finer.low.as_tuple() != self.low.as_tuple():
            raise _Ambiguous
        self.volume += finer.volume
        self.notional += finer.notional
        self.trade_count += finer.trade_count


class _Ambiguous(Exception):  # noqa: N818  (not an error: "fold tick by tick")
    pass


_SECOND = timedelta(seconds=1)


def fold(ticks: Iterable[Trade], intervals: Sequence[str] = (BAR_INTERVAL,)) -> list[PartialBar]:
    """The batch's partial bars, per symbol, interval and bucket (epoch-aligned, `bucket_of`).

    Ticks are added to the finest interval's bars only, and the larger intervals are summed from those (a
    quarter of the Decimal work with 1m,5m,15m,1h). Any rounding, or equal highs or lows written
    differently, and the batch is folded again tick by tick into every interval: the same bars either way.
    """
    lengths = [(interval, int(interval_length(interval).total_seconds())) for interval in intervals]
    finest = min((length for _, length in lengths), default=0)
    ticks = list(ticks)
    if len(lengths) > 1 and len(set(intervals)) == len(lengths) and all(n % finest == 0 for _, n in lengths):
        try:
            with localcontext() as exact:
                exact.traps[Inexact] = exact.traps[Rounded] = True
                return _sorted(_fold_from_finest(ticks, lengths, finest))
        except (DecimalException, _Ambiguous):
            pass
    return _sorted(_fold_ticks(ticks, lengths).values())


def _sorted(bars: Iterable[PartialBar]) -> list[PartialBar]:
    return sorted(bars, key=lambda b: (b.symbol, b.interval, b.bucket_start))


def _fold_ticks(ticks: Iterable[Trade], lengths: Sequence[tuple[str, int]]) -> dict[tuple[str, str, int], PartialBar]:
    starts: dict[int, datetime] = {}  # bucket start (epoch seconds) -> its datetime, made once a batch
    bars: dict[tuple[str, str, int], PartialBar] = {}
    for tick in ticks:
        seconds = (tick.ts - EARLIEST) // _SECOND  # exact (a float timestamp rounds up near the next second)
        for interval, length in lengths:
            start = seconds - seconds % length
            key = (tick.symbol, interval, start)
            bar = bars.get(key)
            if bar is None:
                when = starts.get(start)
                if when is None:
                    when = starts[start] = EARLIEST + timedelta(seconds=start)
                price = tick.price
                bars[key] = bar = PartialBar(tick.symbol, interval, when, price, tick.ts, price, price, price, tick.ts)
            bar.add(tick)
    return bars


def _fold_from_finest(ticks: Sequence[Trade], lengths: Sequence[tuple[str, int]], finest: int) -> list[PartialBar]:
    base = next(item for item in lengths if item[1] == finest)
    finer = _fold_ticks(ticks, [base])
    bars = list(finer.values())
    for interval, length in lengths:
        if length == finest:
            continue
        larger: dict[tuple[str, int], PartialBar] = {}
        for (symbol, _, start), part in finer.items():
            key = (symbol, start - start % length)
            bar = larger.get(key)
            if bar is None:
                when = EARLIEST + timedelta(seconds=key[1])
                larger[key] = bar = PartialBar(symbol, interval, when, part.open, part.open_ts, part.high, part.low,
                                               part.close, part.close_ts)  # fmt: skip
            bar.absorb(part)
        bars.extend(larger.values())
    return bars


def latest_tick_per_symbol(partials: Sequence[PartialBar]) -> dict[str, datetime]:
    """The newest tick time of each symbol in the batch: bars ending (plus grace) before it can close."""
    latest: dict[str, datetime] = {}
    for p in partials:
        latest[p.symbol] = max(latest.get(p.symbol, p.close_ts), p.close_ts)
    return latest


def bar_event_id(bar: Bar) -> str:
    return f"bar_{bar.symbol}_{bar.interval}_{bar.bucket_start:%Y%m%dT%H%M}_r{bar.revision}"


def bar_envelope(bar: Bar, *, producer: str, correlation_id: str | None) -> Envelope:
    return Envelope.new(
        BAR_EVENT,
        bar.model_dump(mode="python"),
        producer=producer,
        correlation_id=correlation_id,
        id=bar_event_id(bar),
        occurred_at=bar.bucket_end,
    )


@dataclass
class RollUpResult:
    applied: int = 0
    duplicates: int = 0
    published: list[Bar] = field(default_factory=list)


__all__ = [
    "BAR_INTERVAL",
    "Bar",
    "PartialBar",
    "RollUpResult",
    "Trade",
    "bar_envelope",
    "fold",
    "latest_tick_per_symbol",
]
