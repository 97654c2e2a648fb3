"""A resolved backtest (`BacktestSpec`) run through strat-lib's engine over stored bars: the calls the
backtest worker (`run_spec`) and each sweep cell (`run_cell`) make.

The strategy is built through the registry (its type and parameters were checked when the job was
queued), the bars are the closed stored bars of [start, end) (`bar_history`), and the result is the
engine's JSON (metrics, equity and drawdown curves, trades, orders); the HTML report is rendered
only when asked (the worker stores it; a sweep cell keeps only its summary metrics).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tradeplane.db import connection

from tp_strategy.api.job_models import BacktestSpec
from tp_strategy.param_check import USER_MODULES

if TYPE_CHECKING:
    from tp_strategy.grid import CellResult
    from tp_strategy.interface import BarInput

__all__ = ["JobRefusedError", "Outcome", "run_cell", "run_spec"]


class JobRefusedError(ValueError):
    """The job cannot run as asked (no stored bars in its window): the user's to fix, not retried."""


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    report: str | None = None


def _bars(spec: BacktestSpec) -> list[BarInput]:
    from tp_strategy.bar_history import bars_between

    with connection(read_only=True) as conn:
        bars = list(bars_between(conn, spec.symbol, spec.timeframe, spec.start, spec.end))
    if not bars:
        raise JobRefusedError(
            f"no closed {spec.timeframe} bars of {spec.symbol} stored between {spec.start.isoformat()} "
            f"and {spec.end.isoformat()}"
        )
    return bars


def run_spec(spec: BacktestSpec, *, report: bool = False) -> Outcome:
    from tp_strategy.backtest import BacktestConfig, backtest
    from tp_strategy.backtest.report import render_html
    from tp_strategy.registry import build

    strategy = build(spec.type, spec.params, module_prefixes=USER_MODULES)
    result = backtest(strategy, _bars(spec), BacktestConfig.model_validate(spec.config))
    title = f"{spec.type} on {spec.symbol} {spec.timeframe}, {spec.start:%Y-%m-%d} to {spec.end:%Y-%m-%d}"
    return Outcome(result.to_dict(), render_html(result, title=title) if report else None)


def run_cell(spec: BacktestSpec, cell: int, params: dict[str, Any]) -> CellResult:
    """One sweep cell: `spec` with `params` over its parameters (strat-lib's `sweep.run_cell`)."""
    from tp_strategy.backtest import BacktestConfig
    from tp_strategy.sweep import run_cell as backtest_cell

    return backtest_cell(cell, spec.type, spec.params, params, _bars(spec), BacktestConfig.model_validate(spec.config))
