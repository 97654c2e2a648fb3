"""One resolved backtest (`BacktestSpec`) run through strat-lib's engine over stored bars: the call the
backtest worker and every sweep cell make.

The strategy is built through the registry (parameters were checked when the job was queued), the
bars are the closed stored bars of [start, end) (`bar_history`, streamed), and the result is the
engine's JSON (metrics, equity and drawdown curves, trades, orders); the HTML report is rendered
only when asked (the worker stores it, sweep cells do not need it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tradeplane.db import connection

from tp_strategy.api.models import BacktestSpec
from tp_strategy.param_check import USER_MODULES

__all__ = ["JobRefusedError", "Outcome", "run_spec"]


class JobRefusedError(ValueError):
    """The job cannot run as asked (no stored bars in its window): the user's to fix, not retried."""


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    report: str | None = None


def run_spec(spec: BacktestSpec, *, report: bool = False) -> Outcome:
    from tp_strategy.backtest import BacktestConfig, backtest
    from tp_strategy.backtest.report import render_html
    from tp_strategy.bar_history import bars_between
    from tp_strategy.registry import build

    strategy = build(spec.type, spec.params, module_prefixes=USER_MODULES)
    config = BacktestConfig.model_validate(spec.config)
    with connection(read_only=True) as conn:
        result = backtest(strategy, bars_between(conn, spec.symbol, spec.timeframe, spec.start, spec.end), config)
    if not result.timestamps:
        raise JobRefusedError(
            f"no closed {spec.timeframe} bars of {spec.symbol} stored between {spec.start.isoformat()} "
            f"and {spec.end.isoformat()}"
        )
    title = f"{spec.type} on {spec.symbol} {spec.timeframe}, {spec.start:%Y-%m-%d} to {spec.end:%Y-%m-%d}"
    return Outcome(result.to_dict(), render_html(result, title=title) if report else None)
