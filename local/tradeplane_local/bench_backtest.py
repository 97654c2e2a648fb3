"""`make bench` figures for the backtester (issue 12): the moving-average crossover's bars/s on one core
against backtesting.py on the same bars, with the same rules, in the same run (goal: at least 10x).

Both engines are single-threaded; the process is pinned to one CPU while they run (where the OS allows)
and the rounds alternate between them so that a busy neighbour slows both alike. Each side's figure
is its best round: the whole run from bars in memory to metrics (ours: `tp_strategy.backtest.backtest`
with the built-ins' fast path, metrics included; theirs: `Backtest.run()`, its statistics included).
The note adds our bar loop (what a strategy without the fast path gets) in the same rounds. All get bars
already parsed (a list of BarInput, a pandas DataFrame): loading files is not part of any figure. The
trade counts are printed beside the ratio as a check that all did the same work.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from tradeplane_local.backtest_cli import _domain
from tradeplane_local.backtest_reference import frame, random_walk, run_backtesting_py, sma_cross_class

Row = Callable[..., None]
FAST, SLOW, SIZE, COMMISSION = 10, 30, 10, 0.001


@contextmanager
def one_core() -> Iterator[None]:
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is None:
        yield
        return
    before = affinity(0)
    os.sched_setaffinity(0, {max(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _best(runs: list[Callable[[], Any]], rounds: int) -> tuple[list[float], list[Any]]:
    """Alternating rounds; each callable's shortest time and its last result."""
    best, last = [float("inf")] * len(runs), [None] * len(runs)
    for _ in range(rounds):
        for i, run in enumerate(runs):
            t0 = time.perf_counter()
            last[i] = run()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best, last


def _compare(n: int, rounds: int, row: Row) -> None:
    from tp_strategy.backtest import BacktestConfig, backtest
    from tp_strategy.registry import build

    bars = random_walk(n, seed=11, revert=0.002)
    df = frame(bars)
    config = BacktestConfig.model_validate(
        {"cash": 1_000_000, "commission_bps": COMMISSION * 10_000, "sizing": {"kind": "fixed_qty", "qty": SIZE}}
    )
    reference = sma_cross_class(FAST, SLOW, SIZE, allow_short=False)

    def ours() -> Any:
        return backtest(build("ma_crossover", {"fast": FAST, "slow": SLOW}), bars, config)

    def bar_loop() -> Any:  # what a strategy without the fast path (a user's) gets
        return backtest(build("ma_crossover", {"fast": FAST, "slow": SLOW}), bars, config, fast=False)

    def theirs() -> Any:
        return run_backtesting_py(df, reference, cash=1_000_000, commission=COMMISSION)

    with one_core():
        ours()  # imports and first-call costs out of the figures
        run_backtesting_py(df.iloc[:500], reference, cash=1_000_000, commission=COMMISSION)
        (our_s, loop_s, their_s), (result, looped, stats) = _best([ours, bar_loop, theirs], rounds)
    our_rate, their_rate = n / our_s, n / their_s
    same = "same" if result.metrics["trades"] == stats["# Trades"] == looped.metrics["trades"] else "DIFFERENT"
    equity_gap = abs(result.metrics["final_equity"] - Decimal(str(stats["Equity Final [$]"])))
    note = (
        f"baseline: backtesting.py; {result.metrics['trades']} trades ({same}), equity gap {equity_gap:.2f} "
        f"({_gap_sources(result, stats)}); "
        f"bar loop (strategies without the fast path) {n / loop_s:,.0f}/s = {their_s / loop_s:.1f}x"
    )
    row(f"bars/s, {n:,} daily bars", f"{our_rate:,.0f}/s", f"{their_rate:,.0f}/s", f"{our_rate / their_rate:.1f}x",
        note)  # fmt: skip


def _gap_sources(result: Any, stats: Any) -> str:
    """What the final equities' gap is made of: our fees rounded up to the cent per fill (the paper venue's
    rule; backtesting.py keeps them exact), and trades entered on another bar (on a bar where the two
    averages are exactly equal, float rounding of the running sums can tip either engine's comparison)."""
    rate = Decimal(str(COMMISSION))
    rounding = sum((x.fee - x.price * x.qty * rate for x in result.executions), Decimal(0))
    theirs = [t.to_pydatetime() for t in stats["_trades"]["EntryTime"]]
    moved = sum(1 for ours, t in zip(result.trades, theirs, strict=False) if ours.entry_ts.replace(tzinfo=None) != t)
    return f"fee rounding {rounding:.2f}, {moved} trades entered on another bar"


def bench_backtest(quick: bool, row: Row, header: Callable[[str], None]) -> None:
    """Two sizes: 20 years of daily bars (backtesting.py's fixed costs weigh in) and a long series (per bar only)."""
    _domain()
    header(f"Backtest: SMA({FAST}/{SLOW}) crossover, one core, against backtesting.py (goal >= 10x)")
    for n in (2_500, 10_000) if quick else (5_000, 50_000):
        _compare(n, 2 if quick else 3, row)
