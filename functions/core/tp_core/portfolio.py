"""Portfolio history (Alpaca's shape) from equity snapshots, with cash flows from the ledger taken out of P&L.

The scheduled `equity_snapshot` function records each active account's equity
(cash + positions at the latest price); history buckets those snapshots by the
requested timeframe (the last snapshot of each bucket). Profit and loss is
measured against the first point, net of deposits and withdrawals made since,
so moving cash in or out is not reported as gain or loss. Alpaca sends these
series as JSON numbers, so they are floats here (display values only).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from tradeplane import db
from tradeplane.auth import Principal
from tradeplane.problems import unprocessable

from tp_core.access import trading_account

_UNITS = {
    "Min": timedelta(minutes=1),
    "H": timedelta(hours=1),
    "D": timedelta(days=1),
    "W": timedelta(weeks=1),
    "M": timedelta(days=30),
    "A": timedelta(days=365),
}


def _span(text: str, allowed: str) -> timedelta:
    m = re.fullmatch(rf"(\d{{1,4}})({allowed})", text)
    if m is None or int(m.group(1)) == 0:
        raise unprocessable(f"invalid period or timeframe {text[:20]!r}")
    return int(m.group(1)) * _UNITS[m.group(2)]


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    period: Annotated[str, Field(max_length=8)] | None = None
    timeframe: Annotated[str, Field(max_length=8)] | None = None
    start: datetime | None = None
    end: datetime | None = None
    date_end: datetime | None = None
    date_start: datetime | None = None  # alpaca-trade-api's name
    intraday_reporting: Annotated[str, Field(max_length=40)] | None = None
    pnl_reset: Annotated[str, Field(max_length=40)] | None = None
    extended_hours: Annotated[str, Field(max_length=8)] | None = None
    cashflow_types: Annotated[str, Field(max_length=200)] | None = None

    def window(self, now: datetime) -> tuple[datetime, datetime, timedelta, str]:
        end = self.end or self.date_end or now
        period = _span(self.period or "1M", "D|W|M|A")
        start = self.start or self.date_start or end - period
        timeframe = self.timeframe or ("1D" if period > timedelta(days=7) else "1H")
        step = _span(timeframe, "Min|H|D")
        if start >= end:
            raise unprocessable("start must be before end")
        if (end - start) / step > 10_000:
            raise unprocessable("too many points: use a longer timeframe or a shorter period")
        return start, end, step, timeframe


def _bucket(t: datetime, start: datetime, step: timedelta) -> int:
    return int((t - start) / step)


def _series(
    snapshots: list[dict[str, Any]], flows: list[dict[str, Any]], start: datetime, step: timedelta
) -> list[tuple[datetime, Decimal, Decimal]]:
    """(time, equity, cash flow since the first point) at the last snapshot of each bucket."""
    last: dict[int, dict[str, Any]] = {}
    for s in snapshots:
        last[_bucket(s["taken_at"], start, step)] = s
    points = [last[b] for b in sorted(last)]
    if not points:
        return []
    first = points[0]["taken_at"]
    return [
        (
            p["taken_at"],
            Decimal(p["equity"]),
            sum((Decimal(f["amount"]) for f in flows if first < f["occurred_at"] <= p["taken_at"]), Decimal(0)),
        )
        for p in points
    ]


def portfolio_history(
    caller: Principal, query: HistoryQuery, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> dict[str, Any]:
    account_id = trading_account(caller, "trading:read")
    start, end, step, timeframe = query.window(now())
    with db.transaction(read_only=True) as conn:
        snapshots = conn.execute(
            "select taken_at, equity from trading.equity_snapshots"
            " where account_id = %s and taken_at >= %s and taken_at <= %s order by taken_at",
            (account_id, start, end),
        ).fetchall()
        flows = conn.execute(
            "select occurred_at, amount from trading.cash_ledger where account_id = %s"
            " and entry_type in ('deposit', 'withdrawal') and occurred_at > %s and occurred_at <= %s",
            (account_id, start, end),
        ).fetchall()
    return _history_view(_series(list(snapshots), list(flows), start, step), timeframe)


def _history_view(series: list[tuple[datetime, Decimal, Decimal]], timeframe: str) -> dict[str, Any]:
    base = series[0][1] if series else Decimal(0)
    pnl = [equity - base - flow for _, equity, flow in series]
    return {
        "timestamp": [int(t.timestamp()) for t, _, _ in series],
        "equity": [float(e) for _, e, _ in series],
        "profit_loss": [float(p) for p in pnl],
        "profit_loss_pct": [float(p / base) if base else 0.0 for p in pnl],
        "base_value": float(base),
        "timeframe": timeframe,
        "cashflow": {},
    }


def take_snapshots(prices: Callable[[str], Decimal | None], at: datetime) -> int:
    """Record every active account's equity at `at` (once: a repeated run for the same minute does nothing)."""
    from tp_core.alpaca import position_view

    taken = 0
    with db.transaction() as conn:
        accounts = conn.execute(
            """select a.id, coalesce(b.cash, 0) as cash
               from core.accounts a left join trading.balances b on b.account_id = a.id where a.status = 'ACTIVE'"""
        ).fetchall()
        for a in accounts:
            rows = conn.execute(
                "select symbol, qty, avg_entry_price, realized_pl from trading.positions"
                " where account_id = %s and qty <> 0",
                (a["id"],),
            ).fetchall()
            value = sum((Decimal(position_view(r, prices(r["symbol"]))["market_value"]) for r in rows), Decimal(0))
            inserted = conn.execute(
                "insert into trading.equity_snapshots (account_id, taken_at, equity, cash, positions_value)"
                " values (%s, %s, %s, %s, %s) on conflict do nothing",
                (a["id"], at.replace(second=0, microsecond=0), a["cash"] + value, a["cash"], value),
            )
            taken += inserted.rowcount
    return taken
