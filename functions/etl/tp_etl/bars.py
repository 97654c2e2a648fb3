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
from datetime import datetime
from decimal import Decimal

from tradeplane.contracts.market import BAR_EVENT, BAR_INTERVAL, Bar, Tick, bucket_of
from tradeplane.envelope import Envelope


@dataclass
class PartialBar:
    """What one batch contributes to one (symbol, minute) bar."""

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

    def add(self, tick: Tick) -> None:
        if tick.ts < self.open_ts:
            self.open, self.open_ts = tick.price, tick.ts
        if tick.ts >= self.close_ts:
            self.close, self.close_ts = tick.price, tick.ts
        self.high = max(self.high, tick.price)
        self.low = min(self.low, tick.price)
        self.volume += tick.size
        self.trade_count += 1


def fold(ticks: Iterable[Tick], intervals: Sequence[str] = (BAR_INTERVAL,)) -> list[PartialBar]:
    bars: dict[tuple[str, str, datetime], PartialBar] = {}
    for tick in ticks:
        for interval in intervals:
            key = (tick.symbol, interval, bucket_of(tick.ts, interval))
            bar = bars.get(key)
            if bar is None:
                bars[key] = bar = PartialBar(
                    tick.symbol, interval, key[2], tick.price, tick.ts, tick.price, tick.price, tick.price, tick.ts
                )
            bar.add(tick)
    return sorted(bars.values(), key=lambda b: (b.symbol, b.interval, b.bucket_start))


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


__all__ = ["BAR_INTERVAL", "Bar", "PartialBar", "RollUpResult", "bar_envelope", "fold", "latest_tick_per_symbol"]
