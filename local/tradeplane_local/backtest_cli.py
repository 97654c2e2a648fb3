"""`tradeplane backtest` and `tradeplane sweep`: the strategy backtester on this machine, over an OHLCV CSV.

    tradeplane backtest --strategy ma_crossover --param fast=10 --param slow=30 --csv spy.csv \\
        --cash 10000 --commission 5 [--json] [--html report.html]
    tradeplane sweep --strategy ma_crossover --grid fast=5,10,20 --grid slow=30:90:30 --csv spy.csv \\
        [--workers 2] [--rank-by sharpe]

The same code as the live runner and the API's backtest worker (`tp_strategy`), imported from its
domain folder as Lambda would. `--commission` is in basis points per side (5 = 0.05 %).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradeplane_tools.manifest import REPO_ROOT

STRATEGY_DOMAIN = REPO_ROOT / "functions" / "strategy"


def _domain() -> None:
    if str(STRATEGY_DOMAIN) not in sys.path:
        sys.path.insert(0, str(STRATEGY_DOMAIN))  # tp_strategy, as Lambda's /var/task


def _params(specs: list[str]) -> dict[str, Any]:
    from tp_strategy.sweep import SweepError, parse_grid

    grid = parse_grid(specs)
    if any(len(v) != 1 or ":" in spec.partition("=")[2] for v, spec in zip(grid.values(), specs, strict=True)):
        raise SweepError("--param takes one value (name=value); use `tradeplane sweep --grid` for several")
    return {name: values[0] for name, values in grid.items()}


def _sizing(spec: str, fractional: bool) -> dict[str, Any]:
    from tp_strategy.sizing import AMOUNT_OF

    kind, _, amount = spec.partition("=")
    if kind not in AMOUNT_OF:
        raise ValueError(f"--sizing {spec!r}: use all_cash, fixed_qty=N, fixed_notional=N or percent_equity=N")
    field = AMOUNT_OF[kind]
    return {"kind": kind, "fractional": fractional, **({field: amount} if field and amount else {})}


def _config(args: argparse.Namespace) -> Any:
    from tp_strategy.backtest import BacktestConfig

    return BacktestConfig.model_validate(
        {
            "cash": args.cash,
            "commission_bps": args.commission,
            "fixed_fee": args.fixed_fee,
            "slippage_bps": args.slippage,
            "fill_at": args.fill_at,
            "allow_short": args.allow_short,
            "sizing": _sizing(args.sizing, args.fractional),
        }
    )


def _refusals() -> tuple[type[Exception], ...]:
    from pydantic import ValidationError
    from tp_strategy.backtest.csv_bars import CsvBarsError
    from tp_strategy.registry import StrategyError
    from tp_strategy.sweep import SweepError

    return (StrategyError, CsvBarsError, SweepError, ValidationError, ValueError, OSError)


def _guarded(run: Any) -> Any:
    def wrapper(args: argparse.Namespace) -> int:
        _domain()
        try:
            return int(run(args))
        except _refusals() as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return wrapper


def _print_metrics(metrics: dict[str, Any]) -> None:
    from tp_strategy.backtest.result import jsonable

    width = max(map(len, metrics))
    for key, value in metrics.items():
        shown = (
            f"{value:,.4f}" if isinstance(value, float) else value if isinstance(value, timedelta) else jsonable(value)
        )
        print(f"  {key:<{width}}  {'-' if value is None else shown}")


def run_backtest_cmd(args: argparse.Namespace) -> int:
    from tp_strategy.backtest import backtest
    from tp_strategy.backtest.csv_bars import read_csv_bars
    from tp_strategy.backtest.report import render_html
    from tp_strategy.registry import build

    strategy = build(args.strategy, _params(args.param))
    config = _config(args)
    bars = read_csv_bars(args.csv, symbol=args.symbol)
    if not bars:
        raise ValueError(f"{args.csv}: no bars")
    result = backtest(strategy, bars, config)
    title = f"{args.strategy} {json.dumps(_params(args.param))} on {bars[0].symbol}"
    if args.html:
        args.html.write_text(render_html(result, title=title), encoding="utf-8")
    if args.json:
        print(json.dumps(result.to_dict(max_points=None), indent=2))
        return 0
    print(f"{title}: {len(bars)} bars {bars[0].ts.date()} .. {bars[-1].ts.date()}")
    _print_metrics(result.metrics)
    for t in result.trades[-args.show_trades :] if args.show_trades else []:
        print(f"  {t.side:<5} {t.qty} {t.entry_ts:%Y-%m-%d %H:%M} @ {t.entry_price} -> {t.exit_ts:%Y-%m-%d %H:%M} "
              f"@ {t.exit_price}  pnl {t.pnl:.2f}")  # fmt: skip
    if args.html:
        print(f"report: {args.html}")
    return 0


def run_sweep_cmd(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table
    from tp_strategy.backtest.csv_bars import read_csv_bars
    from tp_strategy.registry import strategy_class
    from tp_strategy.sweep import RANKABLE, SweepError, expand_grid, parse_grid, rank, run_local

    strategy_class(args.strategy)
    if args.rank_by not in RANKABLE:
        raise SweepError(f"cannot rank by {args.rank_by!r}: use one of {', '.join(RANKABLE)}")
    cells = expand_grid(parse_grid(args.grid), max_cells=args.max_cells)
    base, config = _params(args.param), _config(args)
    bars = read_csv_bars(args.csv, symbol=args.symbol)
    columns = (TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("cells"), TimeRemainingColumn())
    console = Console(stderr=args.json)
    with Progress(*columns, console=console, transient=args.json) as progress:
        task = progress.add_task("sweep", total=len(cells))
        results = run_local(args.strategy, base, cells, bars, config, workers=args.workers,
                            on_result=lambda _: progress.advance(task))  # fmt: skip
    ranked = rank(results, args.rank_by)
    if args.json:
        print(
            json.dumps([{"cell": r.cell, "params": r.params, "metrics": r.metrics, "error": r.error} for r in ranked])
        )
        return 0
    shown = ("sharpe", "total_return_pct", "max_drawdown_pct", "trades", "win_rate_pct", "final_equity")
    table = Table(title=f"{args.strategy}: {len(cells)} cells on {len(bars)} bars, ranked by {args.rank_by}")
    for col in ("#", "params", *shown):
        table.add_column(col, justify="left" if col == "params" else "right")
    for place, r in enumerate(ranked[: args.top], start=1):
        params = " ".join(f"{k}={v}" for k, v in r.params.items())
        if r.metrics is None:
            table.add_row(str(place), params, f"refused: {r.error}", *[""] * (len(shown) - 1))
            continue
        table.add_row(str(place), params, *(_cell(r.metrics.get(m)) for m in shown))
    console.print(table)
    return 0


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}"
    return f"{Decimal(value):,.2f}" if isinstance(value, str) else str(value)  # money arrives as a Decimal string


def _common(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--strategy", required=True, help="a built-in type or package.module:Class")
    sp.add_argument("--param", action="append", default=[], metavar="K=V", help="a strategy parameter (repeatable)")
    sp.add_argument("--csv", type=Path, required=True, help="OHLCV file (.csv or .csv.gz)")
    sp.add_argument("--symbol", help="the symbol (default: the file's symbol column or name)")
    sp.add_argument("--cash", default="100000", help="starting cash")
    sp.add_argument("--commission", default="0", help="commission per side in basis points (5 = 0.05 %%)")
    sp.add_argument("--fixed-fee", default="0", help="fee per order, on top of the commission")
    sp.add_argument("--slippage", default="0", help="slippage in basis points")
    sp.add_argument("--fill-at", choices=["next_open", "close"], default="next_open")
    sp.add_argument("--allow-short", action="store_true", help="a -1 target opens a short (default: flat)")
    sp.add_argument("--sizing", default="all_cash", help="all_cash | fixed_qty=N | fixed_notional=N | percent_equity=N")
    sp.add_argument("--fractional", action="store_true", help="fractional shares (default: whole)")
    sp.add_argument("--json", action="store_true", help="machine-readable output")


def add_backtest_commands(sub: Any) -> None:
    """`tradeplane backtest` and `tradeplane sweep` on the CLI's subparsers."""
    bt = sub.add_parser("backtest", help="backtest a strategy over an OHLCV CSV file")
    _common(bt)
    bt.add_argument("--html", type=Path, help="write a self-contained HTML report here")
    bt.add_argument("--show-trades", type=int, default=10, help="the last N trades to print (0: none)")
    bt.set_defaults(run=_guarded(run_backtest_cmd))
    sw = sub.add_parser("sweep", help="backtest every cell of a parameter grid on local cores, ranked")
    _common(sw)
    sw.add_argument("--grid", action="append", required=True, metavar="K=V1,V2|K=START:STOP:STEP")
    sw.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: the cores)")
    sw.add_argument("--rank-by", default="sharpe")
    sw.add_argument("--top", type=int, default=20, help="rows of the ranked table")
    sw.add_argument("--max-cells", type=int, default=10_000)
    sw.set_defaults(run=_guarded(run_sweep_cmd))
