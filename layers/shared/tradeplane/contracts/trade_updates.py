"""Trade update events on `orders.events`, keyed by account id: Alpaca's `trade_updates` stream, as events.

Execution (executor, order matcher, order expiry) produces them after the change is
committed; the WebSocket fan-out and strategies consume them. `data` carries Alpaca's
fields (`event`, `order`, `timestamp`, and for fills `price`, `qty`, `position_qty`,
`execution_id`) plus `account_id`, the partition key. Envelope ids are deterministic UUIDs
(of order id, event and its cause), so a relayed or re-sent copy is dropped by consumers.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Final, Literal
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict

TRADE_UPDATE: Final = "order.trade_update"

TradeEvent = Literal[
    "new",
    "fill",
    "partial_fill",
    "canceled",
    "expired",
    "done_for_day",
    "replaced",
    "rejected",
    "pending_new",
    "pending_cancel",
    "pending_replace",
    "order_cancel_rejected",
    "order_replace_rejected",
]


class TradeUpdateOrder(BaseModel):
    """The order as it stands after the event (Alpaca's order fields that a client reads from a trade update)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: UUID
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    order_class: str = "simple"
    qty: Decimal | None = None
    notional: Decimal | None = None
    filled_qty: Decimal = Decimal(0)
    filled_avg_price: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    status: str
    parent_id: UUID | None = None
    replaces: UUID | None = None
    replaced_by: UUID | None = None


class TradeUpdate(BaseModel):
    """One trade update: what happened to an order, and for fills at what price and size."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    account_id: UUID
    event: TradeEvent
    timestamp: datetime
    order: TradeUpdateOrder
    price: Decimal | None = None
    qty: Decimal | None = None
    position_qty: Decimal | None = None
    execution_id: UUID | None = None
    reason: str | None = None


TRADE_UPDATE_IDS: Final = UUID("3d0f8a52-93c4-4f43-8a7e-0c1f6f0b9b21")


def trade_update_id(order_id: UUID, event: str, cause: str) -> str:
    """A deterministic envelope id (a UUID, as outbox ids are): the same change always gives the same id."""
    return str(uuid5(TRADE_UPDATE_IDS, f"{order_id}:{event}:{cause}"))
