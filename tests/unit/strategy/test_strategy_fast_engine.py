"""The backtester's fast path (signals, then only the bars with orders) books exactly what the bar loop books:
same orders, trades, Decimal equity per bar and final equity; metrics equal within float rounding."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.strategy_bars import bars
from tp_strategy.backtest import BacktestConfig, run_backtest
from tp_strategy.backtest.metrics import drawdowns, summarize
from tp_strategy.builtin import BUILTIN
from tp_strategy.registry import build
from tradeplane_local.backtest_reference import random_walk

PARAMS: dict[str, dict[str, Any]] = {
    "ma_crossover": {"fast": 3, "slow": 8},
    "rsi_reversion": {"period": 5, "oversold": 40, "overbought": 60},
    "donchian_breakout": {"entry": 6, "exit": 3},
    "bollinger_reversion": {"period": 8, "k": 1.0},
}
CONFIGS: list[dict[str, Any]] = [
    {"cash": 10_000, "sizing": {"kind": "fixed_qty", "qty": 10}},
    {"cash": 10_000, "fill_at": "close", "allow_short": True, "commission_bps": 5, "sizing": {"kind": "all_cash"}},
    {
        "cash": 5_000,
        "slippage_bps": 3,
        "fixed_fee": 1,
        "allow_short": True,
        "sizing": {"kind": "percent_equity", "percent": 50},
    },
    {"cash": 1_000, "commission_bps": 10, "sizing": {"kind": "fixed_notional", "notional": 700, "fractional": True}},
]


def both(kind: str, series: list[Any], config: dict[str, Any]) -> tuple[Any, Any]:
    cfg = BacktestConfig.model_validate(config)
    return (
        run_backtest(build(kind, PARAMS[kind]), series, cfg, fast=True),
        run_backtest(build(kind, PARAMS[kind]), series, cfg, fast=False),
    )


def assert_same(fast: Any, loop: Any) -> None:
    assert fast.ledger.executions == loop.ledger.executions
    assert fast.ledger.trades == loop.ledger.trades
    assert fast.equity == loop.equity  # Decimal, per bar, exactly
    assert list(fast.equity) == loop.equity and fast.equity[::7] == loop.equity[::7]
    if loop.equity:
        assert fast.equity[-1] == loop.equity[-1]
    with pytest.raises(IndexError):
        fast.equity[len(loop.equity)]
    assert fast.timestamps == loop.timestamps
    assert (fast.signals, fast.exposed_bars, fast.pending, fast.last_close) == (
        loop.signals,
        loop.exposed_bars,
        loop.pending,
        loop.last_close,
    )
    assert fast.ledger.position == loop.ledger.position and fast.ledger.cash == loop.ledger.cash
    assert fast.equity_f == pytest.approx(loop.equity_f, rel=1e-12)
    got, want = (summarize(r, drawdowns(r.timestamps, r.equity_f)) for r in (fast, loop))
    assert got.keys() == want.keys()
    for key, value in want.items():
        if isinstance(value, float):
            assert math.isclose(got[key], value, rel_tol=1e-9, abs_tol=1e-9), key
        else:
            assert got[key] == value, key


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("kind", sorted(BUILTIN))
def test_fast_path_books_what_the_bar_loop_books(kind: str, config: dict[str, Any]) -> None:
    fast, loop = both(kind, random_walk(800, seed=3), config)
    assert len(fast.ledger.executions) > 4  # the case trades
    assert_same(fast, loop)


@settings(max_examples=120, deadline=None)
@given(
    closes=st.lists(st.integers(min_value=40, max_value=60).map(lambda c: c / 4), max_size=60),
    kind=st.sampled_from(sorted(BUILTIN)),
    config=st.sampled_from(CONFIGS),
)
def test_fast_path_equals_the_bar_loop_on_short_series(closes: list[float], kind: str, config: dict[str, Any]) -> None:
    assert_same(*both(kind, bars(closes) if closes else [], config))


def test_fast_path_refuses_bars_out_of_order_like_the_loop() -> None:
    series = bars([10, 11, 12])
    series[1], series[2] = series[2], series[1]
    for fast in (True, False):
        with pytest.raises(ValueError, match="bars out of order"):
            run_backtest(build("ma_crossover", {"fast": 1, "slow": 2}), iter(series), BacktestConfig(), fast=fast)


def test_the_lazy_equity_curve_does_not_follow_later_edits_of_the_callers_list() -> None:
    series = random_walk(200, seed=4)
    fast, loop = both("ma_crossover", series, CONFIGS[0])
    assert fast.exposed_bars > 0
    series[:] = random_walk(200, seed=9)
    assert fast.equity == loop.equity
