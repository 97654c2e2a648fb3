"""Backtests of the same strategy code the live runner drives, with the paper venue's fill model.

from tp_strategy.backtest import BacktestConfig, backtest
result = backtest(build("ma_crossover", {"fast": 10, "slow": 30}), bars, BacktestConfig(cash=Decimal(10_000)))
result.metrics["sharpe"], result.to_dict(), render_html(result, title="...")
"""

from __future__ import annotations

from tp_strategy.backtest.config import BacktestConfig
from tp_strategy.backtest.engine import Execution, Trade, run_backtest
from tp_strategy.backtest.result import BacktestResult, backtest

__all__ = ["BacktestConfig", "BacktestResult", "Execution", "Trade", "backtest", "run_backtest"]
