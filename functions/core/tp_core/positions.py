"""Positions on /v2: valued at the latest price; closed by submitting market orders for them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal
from typing import Annotated, Any

from psycopg import Connection
from pydantic import BaseModel, ConfigDict, Field, model_validator
from tradeplane import db
from tradeplane.auth import Principal

from tp_core.access import trading_account
from tp_core.alpaca import position_view
from tp_core.instruments import asset_id

PriceSource = Callable[[str], Decimal | None]


class CloseRequest(BaseModel):
    """DELETE /v2/positions/{symbol}: all of it, `qty` of it, or `percentage` of it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    qty: Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=8, allow_inf_nan=False)] | None = None
    percentage: Annotated[Decimal, Field(gt=0, le=100, max_digits=9, decimal_places=6, allow_inf_nan=False)] | None = (
        None
    )

    @model_validator(mode="after")
    def _one(self) -> CloseRequest:
        if self.qty is not None and self.percentage is not None:
            raise ValueError("give qty or percentage, not both")
        return self

    def quantity(self, held: Decimal) -> Decimal:
        if self.qty is not None:
            return self.qty
        if self.percentage is not None:
            return (held * self.percentage / 100).quantize(Decimal("0.00000001"), rounding=ROUND_DOWN)
        return held


_POSITIONS = """
select p.symbol, p.qty, p.avg_entry_price, p.realized_pl,
       i.exchange, i.class as asset_class, i.marginable as asset_marginable,
       coalesce((select sum(o.qty - o.filled_qty) from trading.orders o where o.account_id = p.account_id
                 and o.symbol = p.symbol and o.side = case when p.qty > 0 then 'sell' else 'buy' end
                 and o.parent_id is null and o.qty is not null
                 and o.status in ('new', 'accepted', 'pending_new', 'partially_filled', 'held')), 0) as held
from trading.positions p left join market.instruments i on i.symbol = p.symbol
where p.account_id = %s and p.qty <> 0
"""


def valued_positions(
    conn: Connection[Any], account_id: uuid.UUID, prices: PriceSource, symbol: str | None = None
) -> list[dict[str, Any]]:
    sql = _POSITIONS + (" and p.symbol = %s" if symbol else "") + " order by p.symbol"
    rows = conn.execute(sql, (account_id, symbol) if symbol else (account_id,)).fetchall()
    return [position_view(r, prices(r["symbol"])) for r in rows]


def list_positions(caller: Principal, *, prices: PriceSource) -> list[dict[str, Any]]:
    account_id = trading_account(caller, "trading:read")
    with db.transaction() as conn:  # the primary: read right after fills and closes
        return valued_positions(conn, account_id, prices)


def position_symbol(conn: Connection[Any], account_id: uuid.UUID, symbol_or_asset_id: str) -> str | None:
    """Alpaca accepts a symbol or an asset id."""
    rows = conn.execute(
        "select symbol from trading.positions where account_id = %s and qty <> 0", (account_id,)
    ).fetchall()
    wanted = symbol_or_asset_id.upper()
    for r in rows:
        if r["symbol"] == wanted or str(asset_id(r["symbol"])) == symbol_or_asset_id.lower():
            return str(r["symbol"])
    return None


def get_position(caller: Principal, symbol_or_asset_id: str, *, prices: PriceSource) -> dict[str, Any]:
    from tp_core.orders import alpaca_problem

    account_id = trading_account(caller, "trading:read")
    with db.transaction() as conn:
        symbol = position_symbol(conn, account_id, symbol_or_asset_id)
        found = valued_positions(conn, account_id, prices, symbol) if symbol else []
    if not found:
        raise alpaca_problem(404, 40410000, "position does not exist")
    return found[0]
