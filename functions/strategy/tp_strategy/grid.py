"""Parameter grids and the ranking of their cells: the part of a sweep that needs no backtest engine.

    grid = parse_grid(["fast=5,10,20", "slow=30:90:30"])      # {"fast": [5, 10, 20], "slow": [30, 60, 90]}
    cells = expand_grid(grid)                                  # 9 dicts, in a stable order
    best = rank(results, "sharpe")

Kept apart from `tp_strategy.sweep` (which runs cells through the engine, numpy included) so the sweep
routes, which only expand a grid or rank stored results, do not import the engine at init.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["MAX_CELLS", "RANKABLE", "CellResult", "SweepError", "expand_grid", "parse_grid", "rank"]

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


# ---------------------------------------------------------------- ranking


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
