"""Parameter sweeps: a grid of parameter values, one backtest per cell, the cells ranked by a metric.

    grid = parse_grid(["fast=5,10,20", "slow=30:90:30"])      # {"fast": [5, 10, 20], "slow": [30, 60, 90]}
    cells = expand_grid(grid)                                  # 9 dicts, in a stable order
    results = run_local("ma_crossover", {}, cells, bars, config, workers=2)
    best = rank(results, "sharpe")

The grid, the per-cell run (`run_cell`) and the ranking are pure and shared with the AWS sweep (each
cell one worker invocation of a Step Functions Distributed Map). `run_local` fans cells out over local
processes (concurrent.futures), sending the bars to each process once; it is for the CLI, not Lambda
(Lambda has no /dev/shm for multiprocessing). A cell whose parameters its strategy refuses (e.g.
fast >= slow) is reported with the reason and ranked last, not fatal to the sweep.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tp_strategy.backtest import BacktestConfig, backtest
from tp_strategy.backtest.result import jsonable
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

MAX_CELLS = 10_000
MAX_RANGE_VALUES = 1_000
# metric -> True when higher is better
RANKABLE = {
    "sharpe": True,
    "sortino": True,
    "total_return_pct": True,
    "cagr_pct": True,
    "final_equity": True,
    "win_rate_pct": True,
    "avg_trade": True,
    "max_drawdown_pct": False,
    "volatility_pct": False,
}
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


class SweepError(ValueError):
    """A grid that cannot be run: malformed, empty, too many cells, or an unknown ranking metric."""


@dataclass(frozen=True)
class CellResult:
    cell: int
    params: dict[str, Any]
    metrics: dict[str, Any] | None  # JSON-able summary; None when the cell was refused
    error: str | None = None


# ---------------------------------------------------------------- grid


def _value(text: str) -> Any:
    """A grid value as typed: int, float, true/false, else the string itself."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def _range(spec: str) -> list[Any]:
    """`start:stop:step`, stop included (`5:20:5` -> 5, 10, 15, 20)."""
    parts = [_value(p) for p in spec.split(":")]
    if len(parts) != 3 or not all(isinstance(p, int | float) and not isinstance(p, bool) for p in parts):
        raise SweepError(f"range {spec!r} is not start:stop:step with numbers")
    start, stop, step = parts
    if step <= 0 or stop < start:
        raise SweepError(f"range {spec!r} needs step > 0 and stop >= start")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_RANGE_VALUES:
        raise SweepError(f"range {spec!r} has {count} values (at most {MAX_RANGE_VALUES})")
    if all(isinstance(p, int) for p in parts):
        return list(range(start, stop + 1, step))
    return [round(start + i * step, 10) for i in range(count)]


def parse_grid(specs: Iterable[str]) -> dict[str, list[Any]]:
    """`name=v1,v2,...` or `name=start:stop:step` per parameter; a name given twice is refused."""
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or not values.strip():
            raise SweepError(f"grid {spec!r} is not name=v1,v2,... or name=start:stop:step")
        if name in grid:
            raise SweepError(f"grid parameter {name!r} given twice")
        grid[name] = _range(values) if ":" in values else [_value(v) for v in values.split(",") if v.strip()]
    return grid


def expand_grid(grid: Mapping[str, Sequence[Any]], *, max_cells: int = MAX_CELLS) -> list[dict[str, Any]]:
    """Every combination, the last parameter varying fastest; refused beyond `max_cells`."""
    if not grid or any(len(values) == 0 for values in grid.values()):
        raise SweepError("a grid needs at least one parameter, each with at least one value")
    unique = [list(dict.fromkeys(values)) for values in grid.values()]  # a value given twice counts once
    count = math.prod(len(values) for values in unique)
    if count > max_cells:
        raise SweepError(f"the grid has {count} cells; at most {max_cells}")
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*unique)]


# ---------------------------------------------------------------- running and ranking


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


def _sort_value(result: CellResult, metric: str, higher_better: bool) -> tuple[int, float, int]:
    value = None if result.metrics is None else result.metrics.get(metric)
    if value is None:
        return (1, 0.0, result.cell)  # refused cells and missing figures last, in cell order
    number = float(Decimal(value)) if isinstance(value, str) else float(value)
    return (0, -number if higher_better else number, result.cell)


def rank(results: Iterable[CellResult], by: str = "sharpe") -> list[CellResult]:
    """Best first by `by`; ties and cells without the figure keep cell order."""
    if by not in RANKABLE:
        raise SweepError(f"cannot rank by {by!r}: use one of {', '.join(RANKABLE)}")
    return sorted(results, key=lambda r: _sort_value(r, by, RANKABLE[by]))


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
