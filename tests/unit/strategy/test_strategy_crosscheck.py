"""Cross-check against backtesting.py on the same rules and bars: the same trades, the same final equity.

Tolerance: our fees are the paper venue's (each fill's commission rounded up to the cent), backtesting.py
keeps them exact, so equity may differ by at most one cent per order, and a trade's P&L by two cents.
Prices and times must match exactly (both fill market orders at the next bar's open, or at the close).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from tp_strategy.backtest import BacktestConfig, backtest
from tp_strategy.registry import build
from tradeplane_local.backtest_reference import frame, random_walk, run_backtesting_py, sma_cross_class

BARS = random_walk(1500)
CASH, SIZE, COMMISSION = 100_000, 10, 0.001  # 10 bps per side


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "fast", "slow", "allow_short", "fill_at"),
    [
        ("sma", 10, 30, False, "next_open"),
        ("sma", 10, 30, True, "next_open"),
        ("sma", 5, 20, True, "close"),
    ],
)
def test_sma_crossover_matches_backtesting_py(kind: str, fast: int, slow: int, allow_short: bool, fill_at: str) -> None:
    ours = backtest(
        build("ma_crossover", {"fast": fast, "slow": slow, "kind": kind}),
        BARS,
        BacktestConfig.model_validate(
            {
                "cash": CASH,
                "commission_bps": Decimal(str(COMMISSION * 10_000)),
                "allow_short": allow_short,
                "fill_at": fill_at,
                "sizing": {"kind": "fixed_qty", "qty": SIZE},
            }
        ),
    )
    theirs = run_backtesting_py(
        frame(BARS),
        sma_cross_class(fast, slow, SIZE, allow_short),
        cash=CASH,
        commission=COMMISSION,
        trade_on_close=fill_at == "close",
    )
    their_trades = theirs["_trades"]
    assert len(ours.trades) > 20  # enough crossings to mean something
    assert len(ours.trades) == len(their_trades)
    for mine, (_, row) in zip(ours.trades, their_trades.iterrows(), strict=True):
        assert mine.entry_ts.replace(tzinfo=None) == row["EntryTime"].to_pydatetime()
        assert mine.exit_ts.replace(tzinfo=None) == row["ExitTime"].to_pydatetime()
        assert float(mine.entry_price) == pytest.approx(row["EntryPrice"], abs=1e-9)
        assert float(mine.exit_price) == pytest.approx(row["ExitPrice"], abs=1e-9)
        assert float(mine.qty) * (1 if mine.side == "long" else -1) == row["Size"]
        assert float(mine.pnl) == pytest.approx(row["PnL"], abs=0.02)
    orders = ours.metrics["orders"]
    assert float(ours.metrics["final_equity"]) == pytest.approx(theirs["Equity Final [$]"], abs=0.01 * orders)
    assert ours.metrics["trades"] == theirs["# Trades"]
    assert ours.metrics["max_drawdown_pct"] == pytest.approx(-theirs["Max. Drawdown [%]"], rel=1e-3)
