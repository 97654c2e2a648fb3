"""What a strategy caused: its signals, the orders they submitted and those orders' fills.

Orders are the strategy's through the client order ids its signals carry (the runner derives each
from strategy, symbol and bar time), so on an account several strategies share, each sees only its
own. A deleted strategy's activity stays readable.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from tradeplane.auth import Principal
from tradeplane.db import DbConnection, transaction

from tp_strategy.access import READ
from tp_strategy.api.activity_models import FillView, OrderView, SignalView
from tp_strategy.catalog import strategy_row

__all__ = ["ORDERS_OF_STRATEGY", "list_fills", "list_orders", "list_signals", "strategy_fills"]

# The strategy's orders on its account: those whose client order id one of its signals carries.
ORDERS_OF_STRATEGY = """
    select o.* from trading.orders o
    where o.account_id = %(account)s and o.client_order_id in (
        select s.client_order_id from strategy.signals s
        where s.strategy_id = %(strategy)s and s.client_order_id is not null)
"""


def _keys(conn: DbConnection, caller: Principal, strategy_id: uuid.UUID) -> dict[str, Any]:
    row = strategy_row(conn, caller, strategy_id, READ, deleted=True)
    return {"account": row["account_id"], "strategy": strategy_id}


def list_signals(caller: Principal, strategy_id: uuid.UUID, limit: int, before: datetime | None) -> list[SignalView]:
    with transaction(read_only=True) as conn:
        _keys(conn, caller, strategy_id)
        rows = conn.execute(
            """select id, symbol, bar_ts, direction, reason, client_order_id, order_qty, order_side, status,
                      detail, created_at
               from strategy.signals
               where strategy_id = %s and (%s::timestamptz is null or bar_ts < %s)
               order by bar_ts desc, symbol limit %s""",
            (strategy_id, before, before, limit),
        ).fetchall()
    return [SignalView.model_validate(row) for row in rows]


def list_orders(caller: Principal, strategy_id: uuid.UUID, limit: int) -> list[OrderView]:
    with transaction(read_only=True) as conn:
        keys = _keys(conn, caller, strategy_id)
        rows = conn.execute(
            f"select * from ({ORDERS_OF_STRATEGY}) o order by created_at desc, id limit %(limit)s",
            {**keys, "limit": limit},
        ).fetchall()
    return [OrderView.model_validate(row) for row in rows]


def strategy_fills(conn: DbConnection, keys: dict[str, Any], limit: int | None = None) -> list[FillView]:
    """The strategy's fills, oldest first (the order P&L is computed in)."""
    rows = conn.execute(
        f"""select f.id, f.order_id, f.symbol, f.side, f.qty, f.price, f.occurred_at
            from trading.fills f join ({ORDERS_OF_STRATEGY}) o on o.id = f.order_id
            order by f.occurred_at, f.id {"limit %(limit)s" if limit is not None else ""}""",
        {**keys, "limit": limit},
    ).fetchall()
    return [FillView.model_validate(row) for row in rows]


def list_fills(caller: Principal, strategy_id: uuid.UUID, limit: int) -> list[FillView]:
    with transaction(read_only=True) as conn:
        return strategy_fills(conn, _keys(conn, caller, strategy_id), limit)
