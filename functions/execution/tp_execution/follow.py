"""Bringing a routed order in the book up to what its venue reports, under the order's row lock.

The venue's answer carries its cumulative fill (quantity at an average price). What the
book lacks, `venue filled - book filled`, is booked as ONE fill through the same
`Book.fill` the paper venue's fills use, at the price that makes the book's average equal
the venue's, with an execution id derived from the order and the venue's cumulative
quantity: booking is idempotent twice over (the delta is zero once booked, and a replay
of the same step gets the same ids). A venue that ended the order (canceled, expired)
ends it in the book. What cannot be repaired safely (the book filled MORE than the
venue, the venue does not know the order) is reported, never "fixed".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg import Connection
from tradeplane import outbox
from tradeplane.contracts import order_status as st
from tradeplane.fill_model import Fill

from tp_execution.book import EXECUTION_IDS, Book
from tp_execution.venue import Outcome, cumulative_fill

PRICE_STEP = Decimal("0.0001")


def step_id(order: dict[str, Any], venue_filled: Decimal) -> str:
    """Names one observed venue state of an order: the cause of what booking it writes."""
    return f"venue:{order['id']}:{venue_filled.normalize()}"


def settle(book: Book, order: dict[str, Any], known: Outcome | None) -> list[str]:
    """Book what the venue has and the (locked) order lacks; answer the differences found."""
    if known is None:
        return [f"order {order['client_order_id']} is {order['status']} in the book, unknown at the venue"]
    if known.kind == "ambiguous":
        return [f"order {order['client_order_id']}: the venue gave no answer"]
    if st.is_terminal(order["status"]):
        return []
    if known.kind == "rejected":
        book.move(order, st.CANCELED, "canceled", reason=known.reason)
        return [f"order {order['client_order_id']} was {order['status']} in the book, rejected at the venue"]
    differences: list[str] = []
    fill = cumulative_fill(known)
    venue_filled = fill.qty if fill else Decimal(0)
    missing = venue_filled - order["filled_qty"]
    if fill is not None and missing > 0:
        venue_notional = fill.qty * fill.price
        booked_notional = order["filled_qty"] * (order["filled_avg_price"] or Decimal(0))
        price = ((venue_notional - booked_notional) / missing).quantize(PRICE_STEP)
        exec_id = uuid.uuid5(EXECUTION_IDS, step_id(order, venue_filled))
        book.fill(order, Fill(missing, price, Decimal(0)), exec_id)
    elif missing < 0:
        differences.append(f"order {order['client_order_id']}: book filled {order['filled_qty']}, venue {venue_filled}")
    assert known.decision is not None
    if known.decision.outcome == "canceled" and not st.is_terminal(order["status"]):
        book.move(order, st.CANCELED, "canceled", reason=known.decision.reason)
    if missing > 0 or st.is_terminal(order["status"]):
        book.contingents(order)
    return differences


@dataclass
class Settled:
    """What settling one order against one venue answer did (staged trade updates are published by the caller)."""

    staged: list[outbox.Staged] = field(default_factory=list)
    fills_booked: int = 0
    ended: int = 0
    differences: list[str] = field(default_factory=list)


def settle_order(
    conn: Connection[Any],
    producer: str,
    order_id: UUID,
    known: Outcome | None,
    *,
    skip_stale: bool = False,
    statuses: frozenset[str] | None = None,
) -> Settled:
    """Lock the order and settle it against the venue's answer, in one transaction. The cause names the observed
    venue state (order, cumulative fill, kind), so the poll and the stream seeing the same state write the same
    ids. `skip_stale`: an answer older than the book (a stream event the book has already passed) changes nothing
    and is not a difference. `statuses`: settle only an order in one of these under the lock (the caller chose
    it by a status read before; a Core API replace or cancel may have moved it since)."""
    fill = cumulative_fill(known) if known is not None else None
    venue_filled = fill.qty if fill else Decimal(0)
    done = Settled()
    with conn.transaction():
        book = Book(conn, producer, f"{step_id({'id': order_id}, venue_filled)}:{known.kind if known else 'unknown'}")
        order = book.lock(order_id)
        if order is None or (statuses is not None and order["status"] not in statuses):
            return done
        if skip_stale and venue_filled < order["filled_qty"]:
            return done
        before_qty, before_status = order["filled_qty"], order["status"]
        done.differences = settle(book, order, known)
        done.fills_booked = int(order["filled_qty"] > before_qty)
        done.ended = int(st.is_terminal(order["status"]) and not st.is_terminal(before_status))
    done.staged = book.staged
    return done
