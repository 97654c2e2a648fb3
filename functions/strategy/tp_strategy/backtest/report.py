"""A backtest as one self-contained HTML file: metrics, equity and drawdown charts (inline SVG), trades.

No script, no external stylesheet or font: the file opens offline and from S3 alike. Every value
shown is escaped. Long curves are thinned to about one point per horizontal pixel.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any

from tp_strategy.backtest.result import BacktestResult, jsonable

WIDTH, HEIGHT, PAD = 900, 220, 40

_LABELS = {
    "initial_equity": "Initial equity",
    "final_equity": "Final equity",
    "total_return_pct": "Total return %",
    "cagr_pct": "CAGR %",
    "volatility_pct": "Volatility % (ann.)",
    "sharpe": "Sharpe",
    "sortino": "Sortino",
    "max_drawdown_pct": "Max drawdown %",
    "max_drawdown_duration": "Max drawdown duration",
    "trades": "Trades",
    "win_rate_pct": "Win rate %",
    "avg_trade": "Average trade",
    "avg_trade_pct": "Average trade %",
    "exposure_pct": "Exposure %",
    "fees": "Fees",
    "bars": "Bars",
    "start": "Start",
    "end": "End",
}

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 24px}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
svg{background:#fafafa;border:1px solid #ddd}.pos{color:#1a7f37}.neg{color:#c62828}
"""


def _show(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key == "max_drawdown_duration":
        return str(value)
    if isinstance(value, float):
        return f"{value:,.2f}" if key.endswith("_pct") else f"{value:,.3f}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return escape(str(jsonable(value)))


def _polyline(times: list[datetime], values: list[float], color: str, fill: bool = False) -> str:
    n = len(values)
    if n == 0:
        return ""
    step = max(1, n // WIDTH)
    idx = [*range(0, n, step), n - 1] if (n - 1) % step else list(range(0, n, step))
    lo, hi = min(values), max(values)
    span = hi - lo or 1.0
    t0, t1 = times[0].timestamp(), times[-1].timestamp()
    tspan = t1 - t0 or 1.0

    def xy(i: int) -> str:
        x = PAD + (times[i].timestamp() - t0) / tspan * (WIDTH - 2 * PAD)
        y = PAD / 2 + (hi - values[i]) / span * (HEIGHT - PAD)
        return f"{x:.1f},{y:.1f}"

    points = " ".join(xy(i) for i in idx)
    axis = (
        f'<text x="4" y="{PAD / 2 + 4:.0f}" font-size="11">{hi:,.2f}</text>'
        f'<text x="4" y="{HEIGHT - PAD / 2:.0f}" font-size="11">{lo:,.2f}</text>'
        f'<text x="{PAD}" y="{HEIGHT - 4}" font-size="11">{escape(times[0].date().isoformat())}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 4}" font-size="11" text-anchor="end">'
        f"{escape(times[-1].date().isoformat())}</text>"
    )
    if fill:
        base = f"{PAD:.1f},{PAD / 2 + hi / span * (HEIGHT - PAD):.1f}"
        end = f"{WIDTH - PAD:.1f},{PAD / 2 + hi / span * (HEIGHT - PAD):.1f}"
        shape = f'<polygon points="{base} {points} {end}" fill="{color}" fill-opacity="0.35" stroke="{color}"/>'
    else:
        shape = f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.5"/>'
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}">{shape}{axis}</svg>'


def _trade_rows(result: BacktestResult, limit: int) -> str:
    rows = []
    for t in result.trades[:limit]:
        cls = "pos" if t.pnl > 0 else "neg"
        rows.append(
            f"<tr><td>{escape(t.side)}</td><td>{t.qty}</td><td>{escape(str(jsonable(t.entry_ts)))}</td>"
            f"<td>{t.entry_price:,.4f}</td><td>{escape(str(jsonable(t.exit_ts)))}</td><td>{t.exit_price:,.4f}</td>"
            f'<td>{t.fees:,.2f}</td><td class="{cls}">{t.pnl:,.2f}</td><td class="{cls}">{t.return_pct:,.2f}</td></tr>'
        )
    more = len(result.trades) - limit
    if more > 0:
        rows.append(f'<tr><td colspan="9">… and {more} more (see the JSON result)</td></tr>')
    return "".join(rows)


def render_html(result: BacktestResult, *, title: str = "Backtest", max_trades: int = 500) -> str:
    m = result.metrics
    metrics = "".join(
        f"<tr><td>{escape(label)}</td><td>{_show(key, m.get(key))}</td></tr>" for key, label in _LABELS.items()
    )
    config = escape(", ".join(f"{k}={v}" for k, v in result.config.model_dump(mode="json").items()))
    equity = _polyline(result.timestamps, [float(e) for e in result.equity], "#1565c0")
    drawdown = _polyline(result.timestamps, result.drawdown_pct, "#c62828", fill=True)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1><p>{config}</p>"
        f"<h2>Metrics</h2><table>{metrics}</table>"
        f"<h2>Equity</h2>{equity}<h2>Drawdown %</h2>{drawdown}"
        f"<h2>Trades ({len(result.trades)})</h2><table><tr><th>Side</th><th>Qty</th><th>Entry</th><th>Price</th>"
        f"<th>Exit</th><th>Price</th><th>Fees</th><th>P&amp;L</th><th>%</th></tr>{_trade_rows(result, max_trades)}"
        "</table></body></html>"
    )
