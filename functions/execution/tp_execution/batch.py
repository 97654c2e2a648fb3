"""The executor's fast path: a run of plain order submissions, applied with a fixed number of statements.

A run of consecutive `order.submitted` intents for simple orders (no legs), the common
case, is applied in ONE transaction however long it is: claim every intent in `ops.inbox`,
lock every order (by id), ask the venue about each, lock the positions the fills touch,
then write fills, cash entries, reservations, orders, positions and trade updates with one
batched statement each. Each order is decided on its own (a rejected or resting order
changes nothing for the others) and every status change goes through the state machine;
a database error rolls the run back, claims included, and the event source redelivers it.
The rules are the per-intent path's (`tp_execution.book`): the same ids, the same events,
the position rule of `position_math` (which the per-intent SQL mirrors).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg import Connection
from tradeplane import inbox, outbox
from tradeplane.contracts import order_status as st
from tradeplane.contracts.orders import ORDER_SUBMITTED
from tradeplane.contracts.topics import ORDERS_EVENTS
from tradeplane.envelope import Envelope
from tradeplane.fill_model import Fill

from tp_execution.auctions import AUCTION_TIFS
from tp_execution.book import _ENDED_AT, COLUMNS, RUN_ACCOUNTS_LOCKED, Book, book_fill, execution_id, spec_of
from tp_execution.paper_venue import PaperVenue
from tp_execution.position_math import Position
from tp_execution.venue import Outcome, Venue, VenueOrder, submit_resolved

_LOCK_POSITIONS = """
insert into trading.positions as p (account_id, symbol)
select * from unnest(%b::uuid[], %b::text[]) order by 1, 2
on conflict (account_id, symbol) do update set updated_at = p.updated_at
returning account_id, symbol, qty, avg_entry_price, realized_pl
"""
# Set-based writes: one statement per table for the whole run (arrays of column values), so the server
# parses, plans and executes each once instead of once per row (statements are never prepared: RDS Proxy).
# Arrays of ids, texts, times and flags travel in binary (`%b`): psycopg writes a text array literal in Python,
# quoting each element (~2 us an id, ~4 us a timestamp); numeric arrays stay text, which is cheaper for Decimal.
_FILLS = """
insert into trading.fills (id, order_id, account_id, symbol, side, qty, price, fee, occurred_at)
select * from unnest(%b::uuid[], %b::uuid[], %b::uuid[], %b::text[], %b::text[], %s::numeric[], %s::numeric[],
                     %s::numeric[], %b::timestamptz[])
"""
_CASH = """
insert into trading.cash_ledger
    (id, account_id, entry_type, amount, order_id, idempotency_key, description, occurred_at)
select * from unnest(%b::uuid[], %b::uuid[], %b::text[], %s::numeric[], %b::uuid[], %b::text[], %b::text[],
                     %b::timestamptz[])
"""
_ORDERS = """
update trading.orders o set status = v.status, filled_qty = v.filled_qty, filled_avg_price = v.filled_avg_price,
    hwm = v.hwm, stop_triggered = v.stop_triggered, updated_at = %s, filled_at = coalesce(v.filled_at, o.filled_at),
    canceled_at = coalesce(v.canceled_at, o.canceled_at), failed_at = coalesce(v.failed_at, o.failed_at)
from unnest(%b::uuid[], %b::text[], %s::numeric[], %s::numeric[], %s::numeric[], %b::boolean[], %b::timestamptz[],
            %b::timestamptz[], %b::timestamptz[])
    as v(id, status, filled_qty, filled_avg_price, hwm, stop_triggered, filled_at, canceled_at, failed_at)
where o.id = v.id
"""
_RESERVATIONS = """
update trading.reservations r set amount = greatest(r.amount - v.spent, 0),
    released_at = case when v.ended then %s::timestamptz end
from unnest(%b::uuid[], %s::numeric[], %b::boolean[]) as v(order_id, spent, ended)
where r.order_id = v.order_id and r.released_at is null
"""
_POSITION = """
update trading.positions set qty = %s, avg_entry_price = %s, realized_pl = %s, updated_at = %s
where account_id = %s and symbol = %s
"""


def _ledger_rows(cash: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """`BookedFill.cash_rows` (the parameters of `book._FILL_CASH`) as ledger rows: the `fill` entry, and the
    `fee` entry (negative) only when there is a fee, as that statement's filter does."""
    fill_id, account, amount, order_id, key, what, at, fee_id, _, fee, _, fee_key, _, _ = cash
    rows = [(fill_id, account, "fill", amount, order_id, key, what, at)]
    if fee > 0:
        rows.append((fee_id, account, "fee", -fee, order_id, fee_key, what, at))
    return rows


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows as one list per column: the arrays `unnest` turns back into rows."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def is_plain_submission(envelope: Envelope) -> bool:
    data = envelope.data
    return (
        envelope.type == ORDER_SUBMITTED
        and data.get("order_class") == "simple"
        and not data.get("legs")
        and data.get("time_in_force") not in AUCTION_TIFS  # held for their auction: the per-intent path
    )


@dataclass
class _Writes:
    """What the run will write, built in order in Python."""

    now: datetime
    positions: dict[tuple[uuid.UUID, str], Position]
    fills: list[tuple[Any, ...]] = field(default_factory=list)
    cash: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[str, str, Envelope]] = field(default_factory=list)
    orders: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    spent: dict[uuid.UUID, Decimal] = field(default_factory=dict)
    stamps: dict[uuid.UUID, dict[str, datetime]] = field(default_factory=dict)

    def event(self, book: Book, order: dict[str, Any], event: str, **fields: Any) -> None:
        self.events.append((ORDERS_EVENTS, str(order["account_id"]), book.trade_update(order, event, **fields)))

    def status(self, book: Book, order: dict[str, Any], target: str, event: str, reason: str | None = None) -> None:
        order["status"] = st.advance(order["status"], target)
        ended = _ENDED_AT.get(target)
        if ended:
            self.stamps.setdefault(order["id"], {})[ended] = self.now
        self.event(book, order, event, reason=reason)

    def fill(self, book: Book, order: dict[str, Any], fill: Fill, exec_id: uuid.UUID) -> None:
        booked = book_fill(order, fill, exec_id, self.now)
        key = (order["account_id"], order["symbol"])
        position = self.positions[key] = self.positions[key].after(order["side"], fill.qty, fill.price)
        self.spent[order["id"]] = self.spent.get(order["id"], Decimal(0)) + booked.spent
        self.fills.append(booked.fill_row)
        self.cash.append(booked.cash_rows)
        self.stamps.setdefault(order["id"], {})["filled_at"] = self.now
        self.event(book, order, booked.event, seq=str(exec_id), **booked.update_fields(position.qty))

    def outcome(self, book: Book, order: dict[str, Any], outcome: Outcome) -> None:
        self.orders[order["id"]] = order
        if outcome.kind == "rejected":
            self.status(book, order, st.REJECTED, "rejected", outcome.reason)
            return
        self.status(book, order, st.NEW, "new")
        decision = outcome.decision
        assert decision is not None
        for n, fill in enumerate(decision.fills):
            self.fill(book, order, fill, execution_id(book.cause, order["id"], n))
        if decision.outcome == "canceled" and not st.is_terminal(order["status"]):
            self.status(book, order, st.CANCELED, "canceled", decision.reason)
        order["hwm"], order["stop_triggered"] = decision.hwm, decision.triggered

    def write(self, conn: Connection[Any]) -> list[outbox.Staged]:
        # One round trip for all of them: none needs another's answer (psycopg's pipeline mode sends them all,
        # then syncs; an error still fails the run's transaction as a whole).
        with conn.pipeline():
            return self._write(conn)

    def _write(self, conn: Connection[Any]) -> list[outbox.Staged]:
        if self.fills:
            conn.execute(_FILLS, _columns(self.fills, 9))
            conn.execute(_CASH, _columns([row for cash in self.cash for row in _ledger_rows(cash)], 8))
        orders = [self._order_row(o) for o in self.orders.values()]
        conn.execute(_ORDERS, (self.now, *_columns(orders, 9)))
        reservations = [
            (oid, self.spent.get(oid, Decimal(0)), st.is_terminal(o["status"])) for oid, o in self.orders.items()
        ]
        conn.execute(_RESERVATIONS, (self.now, *_columns(reservations, 3)))
        if self.fills:
            with conn.cursor() as cur:  # one row per (account, symbol) touched: few
                cur.executemany(
                    _POSITION,
                    [(p.qty, p.avg_entry_price, p.realized_pl, self.now, a, s) for (a, s), p in self.positions.items()],
                )
        return outbox.stage_many(conn, self.events)

    def _order_row(self, o: dict[str, Any]) -> tuple[Any, ...]:
        stamps = self.stamps.get(o["id"], {})
        return (
            o["id"], o["status"], o["filled_qty"], o["filled_avg_price"], o["hwm"], o["stop_triggered"],
            stamps.get("filled_at"), stamps.get("canceled_at"), stamps.get("failed_at"),
        )  # fmt: skip


def _lock_positions(conn: Connection[Any], keys: set[tuple[uuid.UUID, str]]) -> dict[tuple[uuid.UUID, str], Position]:
    if not keys:
        return {}
    ordered = sorted(keys)
    rows = conn.execute(_LOCK_POSITIONS, ([a for a, _ in ordered], [s for _, s in ordered])).fetchall()
    return {(r["account_id"], r["symbol"]): Position(r["qty"], r["avg_entry_price"], r["realized_pl"]) for r in rows}


def apply_run(
    conn: Connection[Any], envelopes: Sequence[Envelope], venue: Venue, *, consumer: str, producer: str
) -> tuple[int, int, list[outbox.Staged]]:
    """Apply a run of plain submissions in one transaction: (applied, duplicates, staged trade updates)."""
    with conn.transaction():
        claimed = inbox.claim_many(conn, consumer, [e.id for e in envelopes])
        fresh = list({e.id: e for e in envelopes if e.id in claimed}.values())
        ids = [uuid.UUID(str(e.data["order_id"])) for e in fresh]
        rows = conn.execute(  # the run's accounts first (sorted), then its orders: the one lock order
            f"select {COLUMNS} from trading.orders where id = any(%b) and {RUN_ACCOUNTS_LOCKED} order by id for update",
            (ids, ids),
        )
        orders = {r["id"]: dict(r) for r in rows.fetchall()}
        now = datetime.now(UTC)
        if isinstance(venue, PaperVenue):  # one price read per symbol for the run
            venue = venue.priced({o["symbol"] for o in orders.values()})
        decided = []
        for envelope, order_id in zip(fresh, ids, strict=True):
            order = orders.get(order_id)
            if order is None or order["status"] != st.ACCEPTED:
                continue  # canceled or replaced by its owner before it reached the venue
            venue_order = VenueOrder(order["client_order_id"], order["symbol"], spec_of(order))
            decided.append((envelope, order, submit_resolved(venue, venue_order)))
        touched = {(o["account_id"], o["symbol"]) for _, o, out in decided if out.decision and out.decision.fills}
        writes = _Writes(now, _lock_positions(conn, touched))
        for envelope, order, outcome in decided:
            writes.outcome(Book(conn, producer, envelope.id, envelope.correlation_id, now=now), order, outcome)
        staged = writes.write(conn) if decided else []
    return len(fresh), len(envelopes) - len(fresh), staged
