"""A broker stand-in speaking Alpaca's order JSON through the venue interface, and a router that routes every
routed account to it (used by the reconciler's and the venue follower's tests on real Postgres)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from tp_execution.alpaca_venue import outcome_of
from tp_execution.venue import AMBIGUOUS, Outcome, VenueOrder
from tp_execution.venues import Router


@dataclass
class Broker:
    """Alpaca's side: orders by client order id in Alpaca's JSON; the test moves them as a broker would."""

    name: str = "alpaca"
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    held: dict[str, Decimal] = field(default_factory=dict)
    submits: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)
    lose_next_answer: bool = False

    def submit(self, order: VenueOrder) -> Outcome:
        self.submits.append(order.client_order_id)
        if order.client_order_id not in self.orders:
            self.orders[order.client_order_id] = {
                "id": str(uuid.uuid4()),
                "status": "new",
                "filled_qty": "0",
                "filled_avg_price": None,
            }
        if self.lose_next_answer:
            self.lose_next_answer = False
            return AMBIGUOUS
        return outcome_of(self.orders[order.client_order_id])

    def cancel(self, client_order_id: str) -> Outcome:
        self.orders[client_order_id]["status"] = "pending_cancel"  # a broker cancels asynchronously
        return outcome_of(self.orders[client_order_id])

    def replace(self, client_order_id: str, new: VenueOrder) -> Outcome:
        """Alpaca's PATCH: refused once the order ended; else a new order (new id) and the old one `replaced`."""
        self.replaces.append(client_order_id)
        old = self.orders[client_order_id]
        if old["status"] in ("filled", "canceled", "expired", "replaced"):
            return Outcome.rejected(f"replace refused: order is {old['status']}")
        old["status"] = "replaced"
        self.orders[new.client_order_id] = {"id": str(uuid.uuid4()), "status": "new", "filled_qty": "0",
                                            "filled_avg_price": None}  # fmt: skip
        if self.lose_next_answer:
            self.lose_next_answer = False
            return AMBIGUOUS
        return outcome_of(self.orders[new.client_order_id])

    def query(self, client_order_id: str) -> Outcome | None:
        found = self.orders.get(client_order_id)
        return None if found is None else outcome_of(found)

    def positions(self) -> dict[str, Decimal]:
        return dict(self.held)

    def fill(self, client_order_id: str, total: str, avg: str, status: str) -> None:
        self.orders[client_order_id].update(filled_qty=total, filled_avg_price=avg, status=status)


@dataclass
class BrokerRouter(Router):
    broker: Broker = field(default_factory=Broker)

    def venue(self, account_id: uuid.UUID, kind: str) -> Any:
        return self.broker


def route_to_broker(dsn: str, moto_url: str, account_id: str, broker: dict[str, str], base_url: str) -> None:
    """Route the account to the Alpaca venue: its venue secret holds the broker account's key and `base_url`."""
    import json

    from tradeplane_local.provision import aws_client

    secret = {"key_id": broker["APCA_API_KEY_ID"], "secret_key": broker["APCA_API_SECRET_KEY"], "base_url": base_url}
    aws_client("secretsmanager", moto_url).create_secret(
        Name=f"tradeplane/local/venues/{account_id}", SecretString=json.dumps(secret)
    )
    with psycopg.connect(dsn) as conn:
        conn.execute("insert into core.account_venues (account_id, venue) values (%s, 'alpaca')", (account_id,))


def unroute(dsn: str, account_id: str) -> None:
    """Back to the paper venue: a module's broker stops with its platform, and the session's database outlives
    it, so a later module's reconciler would otherwise still poll that gone broker."""
    with psycopg.connect(dsn) as conn:
        conn.execute("delete from core.account_venues where account_id = %s", (account_id,))
        conn.execute(  # its routed orders still open at the gone broker: ended, so no reconciler polls them
            "update trading.orders set status = 'canceled', canceled_at = now() where account_id = %s"
            " and venue <> 'paper' and status in ('new', 'partially_filled', 'pending_cancel', 'pending_replace',"
            " 'accepted', 'pending_new', 'held')",
            (account_id,),
        )
