"""A finished backtest: metrics, equity and drawdown curves, trades and orders, as objects and as JSON."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tp_strategy.backtest.config import BacktestConfig
from tp_strategy.backtest.engine import Execution, Trade, run_backtest
from tp_strategy.backtest.metrics import drawdowns, summarize
from tp_strategy.interface import BarInput, Strategy


@dataclass(frozen=True)
class BacktestResult:
    config: BacktestConfig
    metrics: dict[str, Any]
    timestamps: list[datetime]
    equity: Sequence[Decimal]
    drawdown_pct: list[float]
    trades: list[Trade]
    executions: list[Execution]

    def to_dict(self, max_points: int | None = 2_000) -> dict[str, Any]:
        """JSON-able (Decimal as string, times ISO 8601 UTC); the curves thinned to at most `max_points`."""
        step = 1 if not max_points or len(self.equity) <= max_points else -(-len(self.equity) // max_points)
        keep = list(range(0, len(self.equity), step))
        if self.equity and keep[-1] != len(self.equity) - 1:
            keep.append(len(self.equity) - 1)
        return {
            "config": self.config.model_dump(mode="json"),
            "metrics": {k: jsonable(v) for k, v in self.metrics.items()},
            "equity_curve": [[jsonable(self.timestamps[i]), str(self.equity[i])] for i in keep],
            "drawdown_curve": [[jsonable(self.timestamps[i]), round(self.drawdown_pct[i], 6)] for i in keep],
            "trades": [
                {
                    "side": t.side,
                    "qty": str(t.qty),
                    "entry_ts": jsonable(t.entry_ts),
                    "entry_price": str(t.entry_price),
                    "exit_ts": jsonable(t.exit_ts),
                    "exit_price": str(t.exit_price),
                    "fees": str(t.fees),
                    "pnl": str(t.pnl),
                    "return_pct": t.return_pct,
                    "bars": t.bars,
                }
                for t in self.trades
            ],
            "orders": [
                {
                    "ts": jsonable(x.ts),
                    "side": x.side,
                    "qty": str(x.qty),
                    "price": str(x.price),
                    "fee": str(x.fee),
                    "reason": x.reason,
                }
                for x in self.executions
            ],
        }


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


def backtest(
    strategy: Strategy, bars: Iterable[BarInput], config: BacktestConfig, *, fast: bool = True
) -> BacktestResult:
    """Run `strategy` over `bars` and report: the one call the CLI, the API's worker and sweeps make.

    `fast=False` drives `on_bar` bar by bar even for a strategy with the fast path (same result; the bench's reference).
    """
    run = run_backtest(strategy, bars, config, fast=fast)
    dd = drawdowns(run.timestamps, run.equity_f)
    return BacktestResult(
        config,
        summarize(run, dd),
        run.timestamps,
        run.equity,
        dd.series,
        run.ledger.trades,
        run.ledger.executions,
    )
