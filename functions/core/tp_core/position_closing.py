"""Closing positions: a market order for all, `qty` or `percentage` of a position (Alpaca's DELETE /v2/positions)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradeplane import db
from tradeplane.auth import Principal
from tradeplane.problems import Problem

from tp_core.access import trading_account
from tp_core.order_changes import cancel_all_orders
from tp_core.order_models import OrderRequest
from tp_core.orders import PriceSource, alpaca_problem, submit_order
from tp_core.positions import CloseRequest, position_symbol


def _held(caller: Principal, symbol_or_asset_id: str) -> tuple[str, Decimal]:
    account_id = trading_account(caller, "trading:write")
    with db.transaction() as conn:
        symbol = position_symbol(conn, account_id, symbol_or_asset_id)
        row = conn.execute(
            "select qty from trading.positions where account_id = %s and symbol = %s", (account_id, symbol)
        ).fetchone()
    if symbol is None or row is None:
        raise alpaca_problem(404, 40410000, "position does not exist")
    return symbol, Decimal(row["qty"])


def close_position(
    caller: Principal, symbol_or_asset_id: str, request: CloseRequest, *, prices: PriceSource
) -> dict[str, Any]:
    symbol, held = _held(caller, symbol_or_asset_id)
    qty = request.quantity(abs(held))
    if qty > abs(held) or qty <= 0:
        raise alpaca_problem(
            403, 40310000, f"insufficient qty available for order (requested: {qty}, available: {abs(held)})"
        )
    order = OrderRequest(symbol=symbol, qty=qty, side="sell" if held > 0 else "buy", type="market", time_in_force="day")
    return submit_order(caller, order, prices=prices).order


def close_all_positions(caller: Principal, *, cancel_orders: bool, prices: PriceSource) -> list[dict[str, Any]]:
    """One result per position (Alpaca's 207 body): the closing order, or the error that stopped it."""
    account_id = trading_account(caller, "trading:write")
    if cancel_orders:
        cancel_all_orders(caller)
    with db.transaction() as conn:
        symbols = [
            r["symbol"]
            for r in conn.execute(
                "select symbol from trading.positions where account_id = %s and qty <> 0 order by symbol", (account_id,)
            ).fetchall()
        ]
    results = []
    for symbol in symbols:
        try:
            results.append(
                {"symbol": symbol, "status": 200, "body": close_position(caller, symbol, CloseRequest(), prices=prices)}
            )
        except Problem as problem:
            body = problem.to_dict()
            results.append(
                {
                    "symbol": symbol,
                    "status": problem.status,
                    "body": {
                        "code": body.get("code", problem.status * 100000),
                        "message": body.get("message", problem.detail),
                    },
                }
            )
    return results
