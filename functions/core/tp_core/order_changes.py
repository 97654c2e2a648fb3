"""Cancel and replace on /v2: the book changes at once where no venue holds the order yet.

An order still `accepted` or `held` is canceled here; one a venue acknowledged
(`new`, `partially_filled`) becomes `pending_cancel` and the executor finishes it.
Either way a cancel request is published on `orders.submitted` behind the order's
own submission (same account key, same partition), and the reservation of an
order that ends here is released in the same transaction.

Replace follows the same split, as Alpaca's lifecycle does: an order no venue holds is
`replaced` at once; one a venue acknowledged becomes `pending_replace` (with `replaced_by`
already pointing at its replacement) until the executor has the venue's answer. The
replacement is accepted and reserved now and published as `order.replace_requested`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from psycopg import Connection
from tradeplane import db, outbox
from tradeplane.auth import Principal
from tradeplane.contracts import order_status, topics
from tradeplane.contracts.orders import ORDER_CANCEL_REQUESTED, ORDER_REPLACE_REQUESTED, OrderCancelRequested
from tradeplane.envelope import Envelope
from tradeplane.observability import correlation_id

from tp_core.access import trading_account
from tp_core.order_models import OrderRequest, ReplaceRequest
from tp_core.orders import (
    OPEN_STATUSES,
    PriceSource,
    Submission,
    accept,
    alpaca_problem,
    find_order,
    lock_account,
    order_not_found,
    read_facts,
    view_with_legs,
)

NOT_AT_VENUE = ("accepted", "held", "pending_new")


def _release(conn: Connection[Any], order_id: uuid.UUID) -> None:
    conn.execute(
        "update trading.reservations set released_at = now() where order_id = %s and released_at is null", (order_id,)
    )


def _cancel_locked(conn: Connection[Any], account_id: uuid.UUID, order: dict[str, Any]) -> outbox.Staged:
    """Cancel one locked open order and its held legs; stage the cancel request."""
    status = order_status.CANCELED if order["status"] in NOT_AT_VENUE else order_status.PENDING_CANCEL
    if not order_status.can_advance(order["status"], status):  # the shared lifecycle decides
        raise alpaca_problem(422, 42210000, f'order is already in "{order["status"]}" state')
    conn.execute(
        """update trading.orders set status = %(s)s, updated_at = now(),
                  canceled_at = case when %(s)s = 'canceled' then now() end
           where id = %(id)s or (parent_id = %(id)s and status = any(%(open)s))""",
        {"s": status, "id": order["id"], "open": list(OPEN_STATUSES)},
    )
    if status == "canceled":
        _release(conn, order["id"])
    event = OrderCancelRequested(
        order_id=order["id"], account_id=account_id, status=status, requested_at=datetime.now(UTC)
    )
    envelope = Envelope.new(ORDER_CANCEL_REQUESTED, event, producer="orders_cancel", correlation_id=correlation_id())
    return outbox.stage(conn, topics.ORDERS_SUBMITTED, str(account_id), envelope)


@db.retry_lock_conflicts
def cancel_order(caller: Principal, order_id: uuid.UUID) -> None:
    account_id = trading_account(caller, "trading:write")
    with db.transaction() as conn:
        lock_account(conn, account_id)
        order = find_order(conn, account_id, "id", order_id, lock=True)
        if order is None or order["parent_id"] is not None:
            raise order_not_found()
        staged = _cancel_locked(conn, account_id, order)
    outbox.publish([staged])


@db.retry_lock_conflicts
def cancel_all_orders(caller: Principal) -> list[dict[str, Any]]:
    """Cancel every open order of the account: one result per order, Alpaca's 207 body."""
    account_id = trading_account(caller, "trading:write")
    results, staged = [], []
    with db.transaction() as conn:
        lock_account(conn, account_id)
        ids = conn.execute(
            "select id from trading.orders where account_id = %s and parent_id is null and status = any(%s)"
            " and status <> 'pending_cancel' order by created_at for update",
            (account_id, list(OPEN_STATUSES)),
        ).fetchall()
        for row in ids:
            order = find_order(conn, account_id, "id", row["id"])
            assert order is not None
            staged.append(_cancel_locked(conn, account_id, order))
            results.append(
                {
                    "id": str(order["id"]),
                    "status": 200,
                    "body": view_with_legs(conn, find_order(conn, account_id, "id", row["id"]) or order),
                }
            )
    outbox.publish(staged)
    return results


def _replacement(old: dict[str, Any], change: ReplaceRequest) -> OrderRequest:
    fields = {
        k: old[k]
        for k in (
            "symbol",
            "side",
            "type",
            "time_in_force",
            "qty",
            "notional",
            "limit_price",
            "stop_price",
            "trail_price",
            "trail_percent",
            "extended_hours",
            "position_intent",
        )
    }
    updates = change.model_dump(exclude_none=True, exclude={"client_order_id", "trail"})
    if change.trail is not None:
        updates["trail_price" if old["trail_price"] is not None else "trail_percent"] = change.trail
    return OrderRequest.model_validate({k: v for k, v in {**fields, **updates}.items() if v is not None})


@db.retry_lock_conflicts
def replace_order(caller: Principal, order_id: uuid.UUID, change: ReplaceRequest, *, prices: PriceSource) -> Submission:
    """Replace an open simple order: a new one (with `replaces`) takes its place; the old one is `replaced`, or
    `pending_replace` while a venue holds it (see the module doc)."""
    account_id = trading_account(caller, "trading:write")
    with db.transaction() as conn:
        lock_account(conn, account_id)
        old = find_order(conn, account_id, "id", order_id, lock=True)
        if old is None or old["parent_id"] is not None:
            raise order_not_found()
        old_status = order_status.REPLACED if old["status"] in NOT_AT_VENUE else order_status.PENDING_REPLACE
        if not order_status.can_advance(old["status"], old_status) or old["order_class"] != "simple":
            raise alpaca_problem(422, 42210000, f'order is not replaceable in "{old["status"]}" state')
        request = _replacement(old, change)
        if change.client_order_id and find_order(conn, account_id, "client_order_id", change.client_order_id):
            raise alpaca_problem(422, 42210000, "client_order_id must be unique")
        _release(conn, old["id"])  # its reservation is available to its replacement
        new_id = change.client_order_id or str(uuid.uuid4())
        ctx = read_facts(conn, account_id, request, new_id, prices).context
        submission = accept(
            conn,
            account_id,
            request,
            new_id,
            ctx,
            replaces=old["id"],
            replaced_status=old_status,
            event_type=ORDER_REPLACE_REQUESTED,
            producer="orders_replace",
        )
        conn.execute(
            """update trading.orders set status = %(s)s, updated_at = now(), replaced_by = %(new)s,
                      replaced_at = case when %(s)s = 'replaced' then now() end
               where id = %(id)s""",
            {"s": old_status, "new": submission.order["id"], "id": old["id"]},
        )
    outbox.publish(submission.staged)
    return submission
