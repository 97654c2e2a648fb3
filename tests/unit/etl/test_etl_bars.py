"""Folding ticks into bars of several intervals: conservation and bounds (hypothesis), and bucket edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tp_etl.bar_settings import BarSettings
from tp_etl.bars import PartialBar, fold
from tp_etl.rows import TradeRow
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


def _exact(partials: list[PartialBar]) -> list[tuple[object, ...]]:
    """Every field, Decimals by their digits and exponent: "10.0" and "10.00" are different outputs."""
    return [tuple(v.as_tuple() if isinstance(v, Decimal) else v for v in p.params().values()) for p in partials]


# Prices written several ways (equal highs and lows in different digits), and sizes large enough that a
# price x size or a sum needs more than the context's 28 digits (rounded): both send fold tick by tick.
_PRICES = st.one_of(
    st.sampled_from(["10", "10.0", "10.00", "9.5", "9.50", "11.25"]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2).map(str),
    st.decimals(min_value=Decimal("1"), max_value=Decimal("9999999999.99999999"), places=8).map(str),
)
_SIZES = st.one_of(
    st.sampled_from(["1", "100", "100.0", "0.5"]),
    st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("9999999999.99999999"), places=8).map(str),
)
trade_rows = st.lists(
    st.builds(
        lambda sym, p, s, sec, us: TradeRow(
            sym, Decimal(p), Decimal(s), T0 + timedelta(seconds=sec, microseconds=us), None, None
        ),
        st.sampled_from(["AAPL", "MSFT"]),
        _PRICES,
        _SIZES,
        st.one_of(st.integers(0, 300), st.integers(0, 2 * 3600)),  # many ticks a minute, or a few
        st.sampled_from([0, 0, 500_000]),  # ties in time, as well as distinct times
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(trade_rows, st.sampled_from([INTERVALS, ("1m", "5m", "15m", "1h"), ("5m", "1m"), ("1m", "7m", "1h")]))
def test_larger_intervals_summed_from_the_finest_are_the_tick_by_tick_bars(
    ticks: list[TradeRow], intervals: tuple[str, ...]
) -> None:
    # fold adds ticks to the finest interval only and sums the larger ones from those; folding each interval
    # on its own goes tick by tick (the way every interval was folded before): the same bars, digit for digit.
    alone = [p for i in intervals for p in fold(ticks, (i,))]
    assert _exact(fold(ticks, intervals)) == _exact(sorted(alone, key=lambda b: (b.symbol, b.interval, b.bucket_start)))


def test_equal_highs_written_differently_keep_the_first_to_arrive() -> None:
    ticks = [TradeRow("A", Decimal(p), Decimal(1), T0 + timedelta(seconds=s), None, None)
             for p, s in (("5", 0), ("10.0", 60), ("10.00", 1))]  # fmt: skip
    hour = next(p for p in fold(ticks, ("1m", "1h")) if p.interval == "1h")
    assert str(hour.high) == "10.0"  # the second tick's, as tick by tick; not the first minute's "10.00"


def test_sums_that_round_are_added_in_arrival_order() -> None:
    # Two ticks a minute whose notionals need more than 28 digits: ((a1 + a2) + b1) + b2 tick by tick rounds
    # differently from (a1 + a2) + (b1 + b2), so this batch must be folded tick by tick.
    pairs = [
        ("6562473810.85762038", "9249486427.89419744"),
        ("727572174.26062277", "1359510060.97486909"),
        ("8773299652.04690300", "5444616931.00611748"),
        ("4376665547.64512284", "2420614138.42535959"),
    ]
    ticks = [TradeRow("A", Decimal(p), Decimal(s), T0 + timedelta(seconds=n * 30), None, None)
             for n, (p, s) in enumerate(pairs)]  # fmt: skip
    alone = [p for i in ("1m", "5m") for p in fold(ticks, (i,))]
    assert _exact(fold(ticks, ("1m", "5m"))) == _exact(sorted(alone, key=lambda b: (b.interval, b.bucket_start)))
