"""Parameter sweeps: a grid of parameter values, one backtest per cell, the cells ranked by a metric.

    grid = parse_grid(["fast=5,10,20", "slow=30:90:30"])      # {"fast": [5, 10, 20], "slow": [30, 60, 90]}
    cells = expand_grid(grid)                                  # 9 dicts, in a stable order
    results = run_local("ma_crossover", {}, cells, bars, config, workers=2)
    best = rank(results, "sharpe")

The grid and the ranking (`tp_strategy.grid`, re-exported here) and the per-cell run (`run_cell`) are
pure and shared with the AWS sweep (each cell one worker invocation of a Step Functions Distributed
Map). `run_local` fans cells out over local processes (concurrent.futures), sending the bars to each
process once; it is for the CLI, not Lambda (Lambda has no /dev/shm for multiprocessing). A cell whose
parameters its strategy refuses (e.g. fast >= slow) is reported with the reason and ranked last, not
fatal to the sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from tp_strategy.backtest import BacktestConfig, backtest
from tp_strategy.backtest.result import jsonable
from tp_strategy.grid import MAX_CELLS, RANKABLE, CellResult, SweepError, expand_grid, parse_grid, rank
from tp_strategy.interface import BarInput
from tp_strategy.registry import StrategyError, build

__all__ = [
    "MAX_CELLS",
    "RANKABLE",
    "CellResult",
    "SweepError",
    "expand_grid",
    "parse_grid",
    "rank",
    "run_cell",
    "run_local",
]

_SUMMARY = (
    "final_equity",
    "total_return_pct",
    "cagr_pct",
    "volatility_pct",
    "sharpe",
    "sortino",
    "max_drawdown_pct",
    "max_drawdown_duration",
    "trades",
    "win_rate_pct",
    "avg_trade",
    "exposure_pct",
)


# ---------------------------------------------------------------- running


def run_cell(
    cell: int,
    type_name: str,
    base_params: Mapping[str, Any],
    params: Mapping[str, Any],
    bars: Sequence[BarInput],
    config: BacktestConfig,
) -> CellResult:
    """One backtest of the grid; its summary metrics JSON-able (what `strategy.sweep_results` stores)."""
    merged = {**base_params, **params}
    try:
        strategy = build(type_name, merged)
    except StrategyError as exc:
        return CellResult(cell, dict(params), None, str(exc))
    metrics = backtest(strategy, bars, config).metrics
    return CellResult(cell, dict(params), {k: jsonable(metrics[k]) for k in _SUMMARY})


_worker_bars: Sequence[BarInput] = ()


def _init_worker(bars: Sequence[BarInput]) -> None:
    global _worker_bars
    _worker_bars = bars


def _worker_cell(
    cell: int, type_name: str, base: Mapping[str, Any], params: Mapping[str, Any], config: BacktestConfig
) -> CellResult:
    return run_cell(cell, type_name, base, params, _worker_bars, config)


def run_local(
    type_name: str,
    base_params: Mapping[str, Any],
    cells: Sequence[Mapping[str, Any]],
    bars: Sequence[BarInput],
    config: BacktestConfig,
    *,
    workers: int = 1,
    on_result: Callable[[CellResult], None] | None = None,
) -> list[CellResult]:
    """Every cell, on `workers` local processes (1: in this process); results in cell order."""
    results: list[CellResult] = []
    if workers <= 1:
        for i, params in enumerate(cells):
            results.append(run_cell(i, type_name, base_params, params, bars, config))
            if on_result:
                on_result(results[-1])
        return results
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(list(bars),)) as pool:
        futures = [
            pool.submit(_worker_cell, i, type_name, dict(base_params), dict(params), config)
            for i, params in enumerate(cells)
        ]
        for future in as_completed(futures):
            results.append(future.result())
            if on_result:
                on_result(results[-1])
    return sorted(results, key=lambda r: r.cell)
