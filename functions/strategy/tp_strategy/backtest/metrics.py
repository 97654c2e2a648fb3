"""The report of a backtest run: performance figures from the equity curve and the trade list.

Returns are bar to bar (the starting cash counts as the equity before the first bar). Annualised
figures use `periods_per_year`: given, or inferred from the median bar spacing (daily bars: 252;
weekly: 52; monthly: 12; intraday: a 6.5-hour, 252-day equity session). CAGR uses calendar time
between the first and last bar (None for a span under a day). Sharpe and Sortino assume a zero
risk-free rate; Sortino's downside deviation is the root mean square of the negative returns over all
bars. Money stays Decimal; ratios are floats. Figures that do not exist (no trades, flat equity, a
single bar) are None, not 0.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import numpy as np

from tp_strategy.backtest.engine import Run, Trade

SESSION_SECONDS = 6.5 * 3600
MONEY_STEP = Decimal("0.0001")
DAY = 86_400.0


def infer_periods_per_year(timestamps: list[datetime]) -> float:
    gaps = sorted((b - a).total_seconds() for a, b in pairwise(timestamps[:201]))
    if not gaps:
        return 252.0
    gap = gaps[len(gaps) // 2]
    if gap >= 28 * DAY:
        return 12.0
    if gap >= 6 * DAY:
        return 52.0
    if gap >= 0.75 * DAY:
        return 252.0
    return 252.0 * SESSION_SECONDS / max(gap, 1.0)


@dataclass(frozen=True)
class Drawdown:
    max_pct: float  # the deepest fall from a peak, in percent of the peak
    max_duration: timedelta  # the longest time from a peak to getting back to it (or to the end)
    max_duration_bars: int
    series: list[float]  # per bar, percent below the running peak (<= 0)


def drawdowns(timestamps: list[datetime], equity: Sequence[float] | np.ndarray) -> Drawdown:
    if not len(equity):
        return Drawdown(0.0, timedelta(0), 0, [])
    curve = np.asarray(equity, dtype=float)
    peaks = np.maximum.accumulate(curve)
    ratio = np.divide(curve, peaks, out=np.ones_like(curve), where=peaks > 0)  # no peak above 0: no drawdown
    series = (ratio - 1) * 100
    highs = np.flatnonzero(curve >= peaks).tolist()  # at a (new or equal) peak
    last = len(curve) - 1
    if highs[-1] != last:
        highs.append(last)  # still under water at the end: that span counts too
    longest, longest_bars = timedelta(0), 0
    for a, b in pairwise(highs):
        if b - a > 1 or curve[b] < peaks[b]:
            span = timestamps[b] - timestamps[a]
            if span > longest:
                longest, longest_bars = span, b - a
    return Drawdown(float(-series.min()), longest, longest_bars, series.tolist())


def _ratios(returns: np.ndarray, per_year: float) -> tuple[float | None, float | None, float | None]:
    """Annualised volatility, Sharpe and Sortino of per-bar returns."""
    n = len(returns)
    if n < 2:
        return None, None, None
    mean = float(returns.mean())
    sd = float(returns.std(ddof=1))
    root = math.sqrt(per_year)
    losses = returns[returns < 0]
    downside = math.sqrt(float(losses @ losses) / n)
    return (
        sd * root * 100,
        mean / sd * root if sd > 0 else None,
        mean / downside * root if downside > 0 else None,
    )


def _trade_figures(trades: list[Trade]) -> dict[str, Any]:
    if not trades:
        return {"trades": 0, "win_rate_pct": None, "avg_trade": None, "avg_trade_pct": None}
    wins = sum(1 for t in trades if t.pnl > 0)
    return {
        "trades": len(trades),
        "win_rate_pct": wins / len(trades) * 100,
        "avg_trade": (sum((t.pnl for t in trades), Decimal(0)) / len(trades)).quantize(MONEY_STEP),
        "avg_trade_pct": statistics.fmean(t.return_pct for t in trades),
    }


def _cagr_pct(growth: float, years: float) -> float | None:
    """Compound annual growth; None under a day (annualising hours of intraday bars says nothing and
    overflows a float for any real move) or when it still does not fit a float."""
    if years * 365.25 < 1 or growth <= 0:
        return None
    try:
        return math.expm1(math.log(growth) / years) * 100
    except OverflowError:
        return None


def summarize(run: Run, dd: Drawdown) -> dict[str, Any]:
    """Metrics as a dict: Decimal money, float ratios and percents, None where a figure does not exist.

    `dd` is the run's drawdowns (the caller keeps them for the report's chart).
    """
    cash = run.config.cash
    final = run.equity[-1] if run.equity else cash
    curve = np.concatenate(([float(cash)], np.asarray(run.equity_f, dtype=float)))
    before, after = curve[:-1], curve[1:]
    returns = after[before > 0] / before[before > 0] - 1
    per_year = run.config.periods_per_year or infer_periods_per_year(run.timestamps)
    volatility, sharpe, sortino = _ratios(returns, per_year)
    years = (run.timestamps[-1] - run.timestamps[0]).total_seconds() / (365.25 * DAY) if run.timestamps else 0.0
    growth = float(final / cash)
    return {
        "bars": len(run.equity),
        "start": run.timestamps[0] if run.timestamps else None,
        "end": run.timestamps[-1] if run.timestamps else None,
        "initial_equity": cash,
        "final_equity": final,
        "total_return_pct": (growth - 1) * 100,
        "cagr_pct": _cagr_pct(growth, years),
        "volatility_pct": volatility,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown_pct": dd.max_pct,
        "max_drawdown_duration": dd.max_duration,
        "max_drawdown_bars": dd.max_duration_bars,
        **_trade_figures(run.ledger.trades),
        "exposure_pct": run.exposed_bars / len(run.equity) * 100 if run.equity else 0.0,
        "fees": sum((x.fee for x in run.ledger.executions), Decimal(0)),
        "orders": len(run.ledger.executions),
        "signals": run.signals,
        "periods_per_year": per_year,
        "open_position": run.ledger.position,
        "pending_order_qty": run.pending,
    }
