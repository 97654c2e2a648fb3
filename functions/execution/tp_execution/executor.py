"""The executor: applies order intents from `orders.submitted` through the account's venue, each exactly once.

Per event, ONE transaction: the applied-event claim (`ops.inbox`), the row lock on the
order, the venue's answer written as status changes, fills, position, cash ledger and
reservation, and the trade updates staged in the outbox. After the commit the staged
trade updates are published on `orders.events` (keyed by account) and marked; if the
process dies in between, `outbox_relay` publishes them. A redelivered event finds its
claim and changes nothing; a crash before the commit leaves nothing to find.

Cancels: the Core API marks an order at a venue `pending_cancel`; here, under the
order's row lock, it becomes `canceled` unless a fill got the lock first (then the
cancel is answered `order_cancel_rejected`). The order matcher takes the same lock, so
a cancel and a fill never both win.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import Connection
from tradeplane import db, outbox
from tradeplane.contracts import order_status as st
from tradeplane.contracts.orders import (
    ORDER_CANCEL_REQUESTED,
    ORDER_REPLACE_REQUESTED,
    ORDER_SUBMITTED,
    OrderSubmitted,
)
from tradeplane.envelope import Envelope

from tp_execution.auctions import AUCTION_TIFS
from tp_execution.batch import apply_run, is_plain_submission
from tp_execution.book import Book, spec_of
from tp_execution.follow import settle
from tp_execution.venue import StillAmbiguousError, Venue, VenueOrder, submit_resolved
from tp_execution.venues import PAPER, Router

CONSUMER = "executor"
INTENTS = frozenset({ORDER_SUBMITTED, ORDER_CANCEL_REQUESTED, ORDER_REPLACE_REQUESTED})


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    published: bool = True


def send(book: Book, order: dict[str, Any], venue: Venue) -> None:
    """Send an accepted order to the venue and book its answer (ambiguous answers are resolved by query)."""
    outcome = submit_resolved(venue, VenueOrder(order["client_order_id"], order["symbol"], spec_of(order)))
    if outcome.kind == "rejected":
        book.move(order, st.REJECTED, "rejected", reason=outcome.reason)
        book.contingents(order)
        return
    book.move(order, st.NEW, "new")
    if venue.name != PAPER:  # the order now rests at that venue: the matcher leaves it, the reconciler follows it
        book.conn.execute("update trading.orders set venue = %s where id = %s", (venue.name, order["id"]))
    assert outcome.decision is not None
    book.apply(order, outcome.decision)


def _on_submitted(book: Book, venue: Venue, envelope: Envelope, order: dict[str, Any]) -> None:
    if order["status"] != st.ACCEPTED:
        return  # canceled (or replaced) by its owner before it reached the venue: nothing to send
    if order["time_in_force"] in AUCTION_TIFS and venue.name == PAPER:
        return  # held `accepted` for its opening or closing auction: `tp_execution.auctions` decides it
    if order["order_class"] == "oco":  # both sides of an OCO work at once
        for leg in book.lock_related(order, frozenset({st.ACCEPTED})):
            book.move(leg, st.NEW, "new")
    send(book, order, venue)


def _on_cancel(book: Book, venue: Venue, envelope: Envelope, order: dict[str, Any]) -> None:
    if order["status"] == st.PENDING_CANCEL and venue.name != PAPER:
        # A broker cancels asynchronously and may fill first: book what it reports; the reconciler
        # finishes an order still pending_cancel once the broker ends it.
        venue.cancel(order["client_order_id"])
        settle(book, order, venue.query(order["client_order_id"]))
    elif order["status"] == st.PENDING_CANCEL:
        venue.cancel(order["client_order_id"])
        book.move(order, st.CANCELED, "canceled")
        for leg in book.lock_related(order, frozenset({st.PENDING_CANCEL})):
            book.move(leg, st.CANCELED, "canceled")
    elif order["status"] == st.CANCELED:
        book.emit(order, "canceled")  # canceled in the book before it reached a venue: confirm it
    else:
        book.emit(order, "order_cancel_rejected", reason=f"order is {order['status']}")


def _on_replace(book: Book, venue: Venue, envelope: Envelope, new: dict[str, Any]) -> None:
    """`new` is the replacement (locked); the order it replaces is locked after it.

    The Core API left the old order `replaced` (no venue held it) or `pending_replace` (a venue
    did); here the swap completes under the old order's row lock, unless a fill got there first.
    """
    replaces = envelope.data_as(OrderSubmitted).replaces
    old = book.lock(replaces) if replaces else None
    if new["status"] != st.ACCEPTED:
        return
    if old is not None and old["status"] not in (st.PENDING_REPLACE, st.REPLACED):
        # The old order filled (or ended) before the swap: the replacement loses.
        book.move(new, st.REJECTED, "rejected", reason=f"the order to replace is {old['status']}")
        book.emit(old, "order_replace_rejected", reason=f"order is {old['status']}")
        return
    if old is not None and old["status"] == st.PENDING_REPLACE and venue.name != PAPER:
        _replace_routed(book, venue, old, new)
        return
    if old is not None and old["status"] == st.PENDING_REPLACE:
        venue.cancel(old["client_order_id"])
        book.move(old, st.REPLACED, "replaced")
    elif old is not None:
        book.emit(old, "replaced")
    send(book, new, venue)


def _replace_routed(book: Book, venue: Venue, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Alpaca's replace: the old order stays `pending_replace` until the broker answers. Accepted: the old
    order is `replaced` and the broker's new order is booked; refused (it filled or ended first): the old
    order goes back to what the broker reports and the replacement is rejected. No answer: the event fails
    (both rows unchanged) and is retried; the retry first asks whether the broker already made the new order,
    so a replace is never sent twice."""
    done = venue.query(new["client_order_id"])
    if done is None or done.kind == "ambiguous":
        done = venue.replace(old["client_order_id"], VenueOrder(new["client_order_id"], new["symbol"], spec_of(new)))
    if done.kind == "ambiguous":
        raise StillAmbiguousError(f"venue {venue.name} gave no answer to replacing {old['client_order_id']}")
    if done.kind == "rejected":
        # The Core API released the old order's reservation for its replacement: it is the old order's again,
        # before a fill that came first draws it down (and its end releases it).
        book.conn.execute("update trading.reservations set released_at = null where order_id = %s", (old["id"],))
        settle(book, old, venue.query(old["client_order_id"]))
        if old["status"] == st.PENDING_REPLACE:  # still working at the broker, unchanged
            book.move(old, st.PARTIALLY_FILLED if old["filled_qty"] > 0 else st.NEW)
        book.move(new, st.REJECTED, "rejected", reason=done.reason)
        book.emit(old, "order_replace_rejected", reason=done.reason)
        return
    book.move(old, st.REPLACED, "replaced")
    book.move(new, st.NEW, "new")
    book.conn.execute("update trading.orders set venue = %s where id = %s", (venue.name, new["id"]))
    settle(book, new, done)  # what the broker's new order has filled already


_HANDLERS: dict[str, Callable[[Book, Venue, Envelope, dict[str, Any]], None]] = {
    ORDER_SUBMITTED: _on_submitted,
    ORDER_CANCEL_REQUESTED: _on_cancel,
    ORDER_REPLACE_REQUESTED: _on_replace,
}


def apply_one(
    conn: Connection[Any], envelope: Envelope, venue: Venue, *, producer: str = CONSUMER
) -> list[outbox.Staged] | None:
    """Apply one intent in its own transaction on `conn`; None when it was applied before (a redelivery)."""
    with conn.transaction():
        book = Book(conn, producer, envelope.id, envelope.correlation_id)
        claimed, order = book.claim_and_lock(CONSUMER, UUID(str(envelope.data["order_id"])))
        if not claimed:
            return None
        if order is not None:
            _HANDLERS[envelope.type](book, venue, envelope, order)
    return book.staged


def execute(
    envelopes: Sequence[Envelope], venue: Venue, *, producer: str = CONSUMER, router: Router | None = None
) -> BatchResult:
    """Apply a batch in order, then publish the trade updates of what committed.

    Runs of plain submissions share a transaction (`tp_execution.batch`); every other intent
    has its own. Intents of accounts the `router` sends to another venue (an Alpaca broker) go one at a
    time to that venue. If one fails, what committed before it stays (its claims make the redelivered
    batch skip it) and what it staged is still published before the error propagates.
    """
    result, staged = BatchResult(), []
    try:
        with db.connection() as conn:  # one checkout for the batch
            accounts = {UUID(str(e.data["account_id"])) for e in envelopes}
            routed = router.routed(conn, accounts) if router is not None else {}
            for run in _runs(envelopes, set(routed)):
                account = UUID(str(run[0].data["account_id"]))
                if account not in routed and is_plain_submission(run[0]):  # plain paper ones: one transaction
                    applied, duplicates, done = apply_run(conn, run, venue, consumer=CONSUMER, producer=producer)
                    result.applied, result.duplicates = result.applied + applied, result.duplicates + duplicates
                    staged.extend(done)
                    continue
                # anything else: one transaction each
                found = apply_one(conn, run[0], routed.get(account, venue), producer=producer)
                if found is None:
                    result.duplicates += 1
                else:
                    result.applied += 1
                    staged.extend(found)
    finally:
        result.published = outbox.publish(staged)  # after the connection went back to the pool
    return result


def _runs(envelopes: Sequence[Envelope], routed: set[UUID]) -> list[list[Envelope]]:
    """Consecutive plain paper submissions grouped; every other intent alone. The batch's order is kept."""

    def plain(envelope: Envelope) -> bool:
        return is_plain_submission(envelope) and UUID(str(envelope.data["account_id"])) not in routed

    runs: list[list[Envelope]] = []
    for envelope in envelopes:
        if runs and plain(envelope) and plain(runs[-1][0]):
            runs[-1].append(envelope)
        else:
            runs.append([envelope])
    return runs
