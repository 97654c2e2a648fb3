"""Sweeps: grid parsing and expansion with its cap, ranking, refused cells, and the local process pool."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tp_strategy.backtest import BacktestConfig
from tp_strategy.sweep import CellResult, SweepError, expand_grid, parse_grid, rank, run_cell, run_local
from tradeplane_local.backtest_reference import random_walk

BARS = random_walk(400, seed=3)
CONFIG = BacktestConfig(cash=Decimal(10_000), commission_bps=Decimal(5))


def test_parse_grid_lists_ranges_and_types() -> None:
    grid = parse_grid(["fast=5,10", "slow=20:40:10", "k=1.5:2.5:0.5", "kind=sma,ema", "flag=true"])
    assert grid == {"fast": [5, 10], "slow": [20, 30, 40], "k": [1.5, 2.0, 2.5], "kind": ["sma", "ema"], "flag": [True]}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("fast", "is not name=v1"),
        ("=1,2", "is not name=v1"),
        ("fast=", "is not name=v1"),
        ("fast=10:5:1", "stop >= start"),
        ("fast=1:5:0", "step > 0"),
        ("fast=1:5", "start:stop:step"),
        ("fast=1:100000:1", "at most 1000"),
    ],
)
def test_bad_grid_specs(spec: str, message: str) -> None:
    with pytest.raises(SweepError, match=message):
        parse_grid([spec])


def test_a_parameter_twice_is_refused() -> None:
    with pytest.raises(SweepError, match="given twice"):
        parse_grid(["fast=1", "fast=2"])


def test_expand_grid_order_dedup_and_cap() -> None:
    cells = expand_grid({"fast": [5, 10, 5], "slow": [20, 30]})
    assert cells == [
        {"fast": 5, "slow": 20},
        {"fast": 5, "slow": 30},
        {"fast": 10, "slow": 20},
        {"fast": 10, "slow": 30},
    ]
    assert len(expand_grid({"a": list(range(100)), "b": list(range(100))})) == 10_000
    with pytest.raises(SweepError, match="10100 cells; at most 10000"):
        expand_grid({"a": list(range(101)), "b": list(range(100))})
    with pytest.raises(SweepError, match="at least one"):
        expand_grid({"a": []})


def test_rank_higher_or_lower_is_better_and_missing_last() -> None:
    results = [
        CellResult(0, {"x": 0}, {"sharpe": 0.5, "max_drawdown_pct": 10.0}),
        CellResult(1, {"x": 1}, None, "refused"),
        CellResult(2, {"x": 2}, {"sharpe": 1.5, "max_drawdown_pct": 20.0}),
        CellResult(3, {"x": 3}, {"sharpe": None, "max_drawdown_pct": 5.0}),
        CellResult(4, {"x": 4}, {"sharpe": 1.5, "max_drawdown_pct": 1.0, "final_equity": "10.5"}),
    ]
    assert [r.cell for r in rank(results, "sharpe")] == [2, 4, 0, 1, 3]
    assert [r.cell for r in rank(results, "max_drawdown_pct")] == [4, 3, 0, 2, 1]
    assert rank(results, "final_equity")[0].cell == 4  # Decimal strings compare as numbers
    with pytest.raises(SweepError, match="cannot rank by 'luck'"):
        rank(results, "luck")


def test_refused_cell_is_reported_not_fatal() -> None:
    bad = run_cell(7, "ma_crossover", {}, {"fast": 30, "slow": 10}, BARS, CONFIG)
    assert bad.metrics is None and bad.error is not None and "must be less than slow" in bad.error
    good = run_cell(8, "ma_crossover", {"kind": "ema"}, {"fast": 5, "slow": 20}, BARS, CONFIG)
    assert good.error is None and good.metrics is not None and good.metrics["trades"] > 0
    assert isinstance(good.metrics["final_equity"], str)  # JSON-able Decimal


def test_local_pool_gives_the_same_results_as_in_process() -> None:
    cells = expand_grid(parse_grid(["fast=3,5,8", "slow=8,20"]))
    seen: list[int] = []
    serial = run_local("ma_crossover", {}, cells, BARS, CONFIG, workers=1)
    pooled = run_local("ma_crossover", {}, cells, BARS, CONFIG, workers=2, on_result=lambda r: seen.append(r.cell))
    assert pooled == serial
    assert sorted(seen) == list(range(6))
    assert [r.error is not None for r in serial] == [False, False, False, False, True, False]  # fast 8 >= slow 8
