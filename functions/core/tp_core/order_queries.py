"""Reading orders on /v2 with Alpaca's filters (status, limit, after, until, direction, nested, side, symbols)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from tradeplane import db
from tradeplane.auth import Principal
from tradeplane.contracts.alpaca_orders import order_view

from tp_core.access import trading_account
from tp_core.orders import COLUMNS, OPEN_STATUSES, find_order, legs_of, order_not_found, view_with_legs


def _boolean(value: Any) -> Any:
    """Queries carry Python's `True`/`False` (alpaca-py) as well as `true`/`false`."""
    return value.lower() if isinstance(value, str) else value


QueryBool = Annotated[bool, BeforeValidator(_boolean)]


class OrderFilter(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Literal["open", "closed", "all"] = "open"
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    after: datetime | None = None
    until: datetime | None = None
    direction: Literal["asc", "desc"] = "desc"
    nested: QueryBool = False
    side: Literal["buy", "sell"] | None = None
    symbols: Annotated[str, Field(max_length=2000)] | None = None


def _where(account_id: uuid.UUID, f: OrderFilter) -> tuple[str, dict[str, Any]]:
    clauses = ["account_id = %(a)s", "parent_id is null" if f.nested else "true"]
    params: dict[str, Any] = {"a": account_id, "open": list(OPEN_STATUSES)}
    if f.status != "all":
        clauses.append("status = any(%(open)s)" if f.status == "open" else "not (status = any(%(open)s))")
    for name, sql in (
        ("after", "created_at > %(after)s"),
        ("until", "created_at < %(until)s"),
        ("side", "side = %(side)s"),
    ):
        if getattr(f, name) is not None:
            clauses.append(sql)
            params[name] = getattr(f, name)
    if f.symbols:
        clauses.append("symbol = any(%(symbols)s)")
        params["symbols"] = [s.strip().upper() for s in f.symbols.split(",") if s.strip()]
    return " and ".join(clauses), params


def list_orders(caller: Principal, f: OrderFilter) -> list[dict[str, Any]]:
    account_id = trading_account(caller, "trading:read")
    where, params = _where(account_id, f)
    order = "asc" if f.direction == "asc" else "desc"
    # The primary: bots list their open orders right after submitting (read-after-write).
    with db.transaction() as conn:
        rows = conn.execute(
            f"select {COLUMNS} from trading.orders where {where} order by created_at {order}, id limit %(limit)s",
            {**params, "limit": f.limit},
        ).fetchall()
        legs = legs_of(conn, [r["id"] for r in rows]) if f.nested else {}
    return [order_view(r, legs.get(r["id"])) for r in rows]


def get_order(caller: Principal, order_id: uuid.UUID) -> dict[str, Any]:
    """One order (with its legs); read from the primary: clients read right after they write."""
    account_id = trading_account(caller, "trading:read")
    with db.transaction() as conn:
        row = find_order(conn, account_id, "id", order_id)
        if row is None:
            raise order_not_found()
        return view_with_legs(conn, row)


def get_order_by_client_id(caller: Principal, client_order_id: str) -> dict[str, Any]:
    account_id = trading_account(caller, "trading:read")
    with db.transaction() as conn:
        row = find_order(conn, account_id, "client_order_id", client_order_id)
        if row is None:
            raise order_not_found()
        return view_with_legs(conn, row)


class QueryFlags(BaseModel):
    """DELETE /v2/positions?cancel_orders=True."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    cancel_orders: QueryBool = False
