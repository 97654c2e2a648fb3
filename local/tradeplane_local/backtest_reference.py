"""The reference the backtester is checked and benchmarked against: the SMA crossover rules of
docs/strategies.md written for backtesting.py (the established backtester), and synthetic daily bars.

Used by the cross-check test and by `make bench` (bench_backtest); backtesting.py is a dev dependency.
"""

from __future__ import annotations

import math
import random
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any


def random_walk(n: int, seed: int = 7, start: float = 100.0, revert: float = 0.0) -> list[Any]:
    """Daily bars of a geometric random walk, prices in cents, opens gapping from the previous close.

    `revert` pulls the log price back towards `start` each bar (keeps long series in a sane price range).
    """
    from tp_strategy.interface import BarInput

    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    out, close = [], start
    t0 = datetime(2015, 1, 1, tzinfo=UTC)
    anchor = math.log(start)
    for i in range(n):
        open_ = round(close * math.exp(rng.gauss(0, 0.004)), 2)
        pull = revert * (anchor - math.log(open_))
        close = round(open_ * math.exp(rng.gauss(0.0002 + pull, 0.015)), 2)
        high = round(max(open_, close) * (1 + abs(rng.gauss(0, 0.005))), 2)
        low = round(min(open_, close) * (1 - abs(rng.gauss(0, 0.005))), 2)
        o, h, lo, c = (Decimal(str(x)) for x in (open_, high, low, close))
        out.append(BarInput("RW", t0 + timedelta(days=i), o, h, lo, c, Decimal(1000)))
    return out


def frame(bars: list[Any]) -> Any:
    import pandas as pd  # type: ignore[import-untyped]

    return pd.DataFrame(
        {
            "Open": [float(b.open) for b in bars],
            "High": [float(b.high) for b in bars],
            "Low": [float(b.low) for b in bars],
            "Close": [float(b.close) for b in bars],
            "Volume": [float(b.volume) for b in bars],
        },
        index=pd.DatetimeIndex([b.ts.replace(tzinfo=None) for b in bars]),
    )


def sma_cross_class(fast: int, slow: int, size: int, allow_short: bool) -> type:
    """SMA crossover as docs/strategies.md states it: long while fast > slow; short (or flat) while below."""
    import pandas as pd
    from backtesting import Strategy  # type: ignore[import-untyped]

    def sma(values: Any, n: int) -> Any:
        return pd.Series(values).rolling(n).mean()

    def slow_sma(values: Any) -> Any:
        # backtesting.py first calls next() one bar after its indicators are all defined; ours decides on
        # the first bar the slow average exists. A placeholder equal to the fast average one bar earlier
        # (equal averages decide nothing) moves backtesting.py's first decision onto that same bar.
        out = sma(values, slow)
        out.iloc[slow - 2] = sma(values, fast).iloc[slow - 2]
        return out

    class SmaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, fast)
            self.slow = self.I(slow_sma, self.data.Close)

        def next(self) -> None:
            f, s = self.fast[-1], self.slow[-1]
            if math.isnan(s) or f == s:
                return
            if f > s and not self.position.is_long:
                self.position.close()
                self.buy(size=size)
            elif f < s and self.position.is_long:
                self.position.close()
                if allow_short:
                    self.sell(size=size)
            elif f < s and allow_short and not self.position:
                self.sell(size=size)

    return SmaCross


def run_backtesting_py(df: Any, cls: type, *, cash: float, commission: float, trade_on_close: bool = False) -> Any:
    from backtesting import Backtest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(df, cls, cash=cash, commission=commission, trade_on_close=trade_on_close, finalize_trades=False)
        return bt.run()
