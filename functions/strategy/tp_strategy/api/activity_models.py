"""Response bodies of a strategy's activity routes: its signals, orders, fills and P&L (money Decimal, times UTC)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class SignalView(BaseModel):
    id: uuid.UUID
    symbol: str
    bar_ts: datetime
    direction: int
    reason: str
    client_order_id: str | None
    order_qty: Decimal | None
    order_side: str | None
    status: str
    detail: str | None
    created_at: datetime


class SignalList(BaseModel):
    signals: list[SignalView]


class OrderView(BaseModel):
    id: uuid.UUID
    client_order_id: str
    symbol: str
    side: str
    type: str
    qty: Decimal | None
    filled_qty: Decimal
    filled_avg_price: Decimal | None
    status: str
    created_at: datetime


class OrderList(BaseModel):
    orders: list[OrderView]


class FillView(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    occurred_at: datetime


class FillList(BaseModel):
    fills: list[FillView]


class SymbolPnl(BaseModel):
    symbol: str
    qty: Decimal = Field(description="Signed position from this strategy's fills")
    avg_entry_price: Decimal | None
    realized_pl: Decimal
    unrealized_pl: Decimal | None = Field(description="None when no latest price is known")
    last_price: Decimal | None
    fees: Decimal


class PnlView(BaseModel):
    strategy_id: uuid.UUID
    realized_pl: Decimal
    unrealized_pl: Decimal
    fees: Decimal
    total_pl: Decimal = Field(description="realized + unrealized - fees")
    symbols: list[SymbolPnl]
