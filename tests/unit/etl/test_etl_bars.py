"""Folding ticks into bars of several intervals: conservation and bounds (hypothesis), and bucket edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tp_etl.bar_settings import BarSettings
from tp_etl.bars import fold
from tradeplane.contracts.market import Bar, Tick, bucket_of, interval_length

T0 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
INTERVALS = ("1m", "5m", "15m", "1h", "1d")

ticks_strategy = st.lists(
    st.builds(
        lambda sym, p, s, sec: Tick(symbol=sym, price=p, size=s, ts=T0 + timedelta(seconds=sec)),
        st.sampled_from(["AAPL", "MSFT", "IBM"]),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2),
        st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3),
        st.integers(0, 3 * 86400),
    ),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(ticks_strategy)
def test_every_interval_conserves_volume_and_trade_count_and_bounds_prices(ticks: list[Tick]) -> None:
    partials = fold(ticks, INTERVALS)
    for interval in INTERVALS:
        for symbol in {t.symbol for t in ticks}:
            mine = [p for p in partials if p.interval == interval and p.symbol == symbol]
            theirs = [t for t in ticks if t.symbol == symbol]
            assert sum(p.volume for p in mine) == sum(t.size for t in theirs)
            assert sum(p.trade_count for p in mine) == len(theirs)
            for p in mine:
                inside = [t for t in theirs if p.bucket_start <= t.ts < p.bucket_start + interval_length(interval)]
                assert p.trade_count == len(inside)
                assert p.low == min(t.price for t in inside) and p.high == max(t.price for t in inside)
                assert p.low <= min(p.open, p.close) <= max(p.open, p.close) <= p.high
                assert p.open == min(inside, key=lambda t: t.ts).price


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**10), st.sampled_from(INTERVALS))
def test_buckets_are_aligned_and_hold_their_time(seconds: int, interval: str) -> None:
    ts = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=seconds % 997)
    start = bucket_of(ts, interval)
    assert start <= ts < start + interval_length(interval)
    assert int(start.timestamp()) % int(interval_length(interval).total_seconds()) == 0


def test_interval_names_and_bar_end() -> None:
    assert interval_length("15m") == timedelta(minutes=15) and interval_length("1d") == timedelta(days=1)
    with pytest.raises(ValueError, match="not a bar interval"):
        interval_length("1w")
    bar = Bar(symbol="A", interval="1h", bucket_start=T0, open=1, high=1, low=1, close=1, volume=1, trade_count=1)
    assert bar.bucket_end == T0 + timedelta(hours=1)


def test_bar_settings_always_include_one_minute() -> None:
    assert BarSettings(bar_intervals="5m,1h").intervals == ("1m", "5m", "1h")
    with pytest.raises(ValueError, match="not a bar interval"):
        BarSettings(bar_intervals="5m,2w")
