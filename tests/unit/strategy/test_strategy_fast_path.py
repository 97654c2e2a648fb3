"""The backtester's fast path (`signals`) of every built-in answers exactly what `on_bar` answers bar by bar:
the same bars, directions and reasons, over random series (ties and flat stretches included) and random params."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from support.strategy_bars import bars
from tp_strategy.builtin import BUILTIN
from tp_strategy.fast_path import FastSignals, Prices, signals_by_bar
from tp_strategy.registry import build

# few distinct prices make ties (equal averages, closes on a band or channel) common
closes = st.lists(st.integers(min_value=40, max_value=60).map(lambda c: c / 4), min_size=0, max_size=120)
wide = st.lists(st.floats(min_value=1.0, max_value=1e4, allow_nan=False).map(lambda c: round(c, 2)), max_size=120)


@st.composite
def params(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(sorted(BUILTIN)))
    if kind == "ma_crossover":
        fast = draw(st.integers(1, 12))
        return kind, {
            "fast": fast,
            "slow": draw(st.integers(fast + 1, 30)),
            "kind": draw(st.sampled_from(["sma", "ema"])),
        }
    if kind == "rsi_reversion":
        low = draw(st.integers(1, 98))
        return kind, {"period": draw(st.integers(2, 20)), "oversold": low, "overbought": draw(st.integers(low + 1, 99))}
    if kind == "donchian_breakout":
        entry = draw(st.integers(1, 20))
        return kind, {"entry": entry, "exit": draw(st.integers(1, entry))}
    return kind, {"period": draw(st.integers(2, 20)), "k": draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]))}


def test_every_builtin_has_the_fast_path() -> None:
    assert all(issubclass(cls, FastSignals) for cls in BUILTIN.values())


@settings(max_examples=400, deadline=None)
@given(series=st.one_of(closes, wide), case=params(), spread=st.sampled_from([0.0, 0.25, 3.0]))
def test_fast_signals_equal_on_bar_bar_by_bar(
    series: list[float], case: tuple[str, dict[str, Any]], spread: float
) -> None:
    series_bars = bars(series, spread=spread) if series else []
    strategy = build(*case)
    expected = signals_by_bar(strategy, series_bars)
    assert strategy.signals(Prices(series_bars)) == expected  # type: ignore[attr-defined]


def test_a_long_series_with_default_params_agrees() -> None:
    from tradeplane_local.backtest_reference import random_walk

    series_bars = random_walk(3_000, seed=5)
    for kind in sorted(BUILTIN):
        strategy = build(kind, {})
        expected = signals_by_bar(strategy, series_bars)
        assert len(expected) > 3, kind  # the series exercises the rule
        assert strategy.signals(Prices(series_bars)) == expected, kind  # type: ignore[attr-defined]


def test_the_sma_sums_stay_bit_equal_where_running_sums_drift() -> None:
    """The numpy sums replay `on_bar`'s additions one by one: equal over a series long enough for the running
    sums to drift (the bench's 50,000-bar series has an exact tie decided by drift at bar 11,226)."""
    from tradeplane_local.backtest_reference import random_walk

    series_bars = random_walk(12_000, seed=11, revert=0.002)
    for params in ({"fast": 10, "slow": 30}, {"fast": 1, "slow": 2}, {"fast": 3, "slow": 400}):
        strategy = build("ma_crossover", params)
        expected = signals_by_bar(strategy, series_bars)
        assert len(expected) > 100, params
        assert strategy.signals(Prices(series_bars)) == expected, params  # type: ignore[attr-defined]
