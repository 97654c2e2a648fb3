"""Order events on `orders.submitted`, keyed by account id (the Core API produces, the executor consumes).

One topic carries an account's submissions, cancel requests and replace requests, so
the executor sees them in the order the Core API accepted them (one partition per
account key). Envelope ids are the outbox row ids: a relayed copy has the same id.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Final
from uuid import UUID

from pydantic import BaseModel, ConfigDict

ORDER_SUBMITTED: Final = "order.submitted"
ORDER_CANCEL_REQUESTED: Final = "order.cancel_requested"
ORDER_REPLACE_REQUESTED: Final = "order.replace_requested"


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class OrderLeg(_Event):
    id: UUID
    leg_role: str  # take_profit | stop_loss
    side: str
    type: str
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    status: str


class OrderSubmitted(_Event):
    """An order as the Core API accepted it (its reservation is already held)."""

    order_id: UUID
    account_id: UUID
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    order_class: str
    qty: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    extended_hours: bool = False
    status: str
    submitted_at: datetime
    reserved: Decimal
    replaces: UUID | None = None
    # On order.replace_requested: what the book now says of the order it replaces. `replaced` when no
    # venue held it yet; `pending_replace` when one did, and the executor finishes the swap on the
    # venue's answer (old -> replaced, this order -> new; or, refused, old back to its open status).
    replaced_status: str | None = None
    legs: list[OrderLeg] = []


class OrderCancelRequested(_Event):
    """The client asked to cancel; `status` is what the book now says (canceled, or pending_cancel at a venue)."""

    order_id: UUID
    account_id: UUID
    status: str
    requested_at: datetime
