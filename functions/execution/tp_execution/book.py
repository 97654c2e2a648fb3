"""Writing execution outcomes into the book of record, inside the caller's transaction.

`Book` holds one transaction's changes: it locks orders (`for update`), moves their
status only through the shared state machine, writes fills, positions, cash ledger
entries and reservation changes, and stages each trade update in `trading.outbox`
with the change. The caller commits, then publishes what was staged (the outbox
relay publishes it if the process dies first).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg import Connection
from tradeplane import outbox
from tradeplane.contracts import order_status as st
from tradeplane.contracts.topics import ORDERS_EVENTS
from tradeplane.contracts.trade_updates import TRADE_UPDATE, trade_update_id, trade_update_json
from tradeplane.envelope import Envelope
from tradeplane.fill_model import Decision, Fill, Order

from tp_execution.position_math import cash_for_fill

COLUMNS = (
    "id, account_id, client_order_id, parent_id, leg_role, symbol, asset_class, side, type, time_in_force,"
    " order_class, qty, notional, limit_price, stop_price, trail_price, trail_percent, hwm, stop_triggered,"
    " status, filled_qty, filled_avg_price, replaces, replaced_by, submitted_at"
)
EXECUTION_IDS = uuid.UUID("6f1c0d64-6c2f-4f4e-9a35-2f3f4b2f7e10")  # namespace of deterministic fill ids
_ENDED_AT = {
    st.FILLED: "filled_at",
    st.CANCELED: "canceled_at",
    st.EXPIRED: "expired_at",
    st.REJECTED: "failed_at",
    st.REPLACED: "replaced_at",
}
# A fill's writes, sent with its trade update in one statement (CTEs before the outbox insert).
_FILL_ROW = (
    "insert into trading.fills (id, order_id, account_id, symbol, side, qty, price, fee, occurred_at)"
    " values (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_FILL_CASH = """
insert into trading.cash_ledger
    (id, account_id, entry_type, amount, order_id, idempotency_key, description, occurred_at)
select * from (values
    (%s::uuid, %s::uuid, 'fill', %s::numeric, %s::uuid, %s, %s, %s::timestamptz),
    (%s::uuid, %s::uuid, 'fee', -%s::numeric, %s::uuid, %s, %s, %s::timestamptz)
) as v(id, account_id, entry_type, amount, order_id, idempotency_key, description, occurred_at)
where v.entry_type = 'fill' or v.amount < 0
"""
# A buy draws its reservation down by what it spent; an order that ended releases what is left.
_FILL_RESERVATION = (
    "update trading.reservations set amount = greatest(amount - %s, 0),"
    " released_at = case when %s then %s::timestamptz end where order_id = %s and released_at is null"
)
_FILL_ORDER = (
    "update trading.orders set filled_qty = %s, filled_avg_price = %s, status = %s, updated_at = %s,"
    " filled_at = %s where id = %s"
)
# The position after a fill, in one statement (the row is created, locked and updated by the upsert):
# adding keeps a weighted average entry; reducing realizes P&L at the average; crossing zero realizes
# the closed part and opens the rest at the fill price. `position_math.Position` is the same rule in
# Python, the oracle the tests compare with.
_POSITION = """
insert into trading.positions as p (account_id, symbol, qty, avg_entry_price, realized_pl, updated_at)
values (%(a)s, %(s)s, %(q)s, %(px)s, 0, %(now)s)
on conflict (account_id, symbol) do update set
    qty = p.qty + excluded.qty,
    avg_entry_price = case
        when p.qty + excluded.qty = 0 then 0
        when p.qty = 0 or sign(p.qty) = sign(excluded.qty)
            then round((abs(p.qty) * p.avg_entry_price + abs(excluded.qty) * excluded.avg_entry_price)
                       / abs(p.qty + excluded.qty), 8)
        when sign(p.qty + excluded.qty) = sign(p.qty) then p.avg_entry_price
        else excluded.avg_entry_price end,
    realized_pl = case
        when p.qty <> 0 and sign(p.qty) <> sign(excluded.qty)
            then round(p.realized_pl + (excluded.avg_entry_price - p.avg_entry_price)
                       * least(abs(excluded.qty), abs(p.qty)) * sign(p.qty), 2)
        else p.realized_pl end,
    updated_at = excluded.updated_at
returning qty
"""
# One lock order for every writer of an account's book (the Core API's `lock_account` too): the account row
# (`core.accounts`, for update) first, then orders, then what triggers and foreign keys lock (balances row,
# the account's key share). The account is locked by a sub-select, which runs before the outer row lock
# (the top of the plan); taking an order first let a fill's foreign key check wait on an account a Core
# cancel held while that cancel waited on the order: a deadlock (PostgreSQL then aborts one of them).
ORDER_ACCOUNT_LOCKED = """account_id = (
    select a.id from core.accounts a where a.id = (select account_id from trading.orders where id = %s) for update)"""
RUN_ACCOUNTS_LOCKED = """account_id = any(array(
    select a.id from core.accounts a where a.id in (select account_id from trading.orders where id = any(%b))
    order by a.id for update))"""
_LOCK = f"select {COLUMNS} from trading.orders where id = %s and {ORDER_ACCOUNT_LOCKED} for update"
_CLAIM_AND_LOCK = f"""
with c as (insert into ops.inbox (consumer, event_id) values (%s, %s) on conflict do nothing returning 1)
select (select count(*) from c) = 1 as claimed, {COLUMNS} from trading.orders
where id = %s and {ORDER_ACCOUNT_LOCKED} for update
"""


def spec_of(order: dict[str, Any]) -> Order:
    """The fill model's view of a book row."""
    return Order(
        side=order["side"],
        type=order["type"],
        time_in_force=order["time_in_force"],
        qty=order["qty"],
        notional=order["notional"],
        limit_price=order["limit_price"],
        stop_price=order["stop_price"],
        trail_price=order["trail_price"],
        trail_percent=order["trail_percent"],
        filled_qty=order["filled_qty"],
        hwm=order["hwm"],
        triggered=order["stop_triggered"],
    )


@dataclass(frozen=True)
class BookedFill:
    """What one fill writes besides the position (parameters of `_FILL_ROW` and `_FILL_CASH`)."""

    event: str  # fill | partial_fill
    fill_row: tuple[Any, ...]
    cash_rows: tuple[Any, ...]
    spent: Decimal  # what a buy drew from its reservation (notional and fee)
    fill: Fill
    exec_id: uuid.UUID

    def update_fields(self, position_qty: Decimal) -> dict[str, Any]:
        f = self.fill
        return {"price": f.price, "qty": f.qty, "position_qty": position_qty, "execution_id": self.exec_id}


def book_fill(order: dict[str, Any], fill: Fill, exec_id: uuid.UUID, now: datetime) -> BookedFill:
    """Apply a fill to the order (quantities, average price, status through the state machine) and say what
    it writes. Both the per-intent path and the batched path use it."""
    filled = order["filled_qty"] + fill.qty
    target = st.FILLED if order["qty"] is None or filled >= order["qty"] else st.PARTIALLY_FILLED
    order["status"] = st.advance(order["status"], target)
    previous = (order["filled_avg_price"] or Decimal(0)) * order["filled_qty"]
    order["filled_avg_price"] = ((previous + fill.qty * fill.price) / filled).quantize(Decimal("0.00000001"))
    order["filled_qty"] = filled
    cash = cash_for_fill(order["side"], fill.qty, fill.price)
    oid, acct, symbol, side = order["id"], order["account_id"], order["symbol"], order["side"]
    what = f"{side} {fill.qty} {symbol} @ {fill.price}"
    return BookedFill(
        "fill" if target == st.FILLED else "partial_fill",
        (exec_id, oid, acct, symbol, side, fill.qty, fill.price, fill.fee, now),
        (uuid.uuid5(exec_id, "fill"), acct, cash, oid, f"fill:{exec_id}", what, now,
         uuid.uuid5(exec_id, "fee"), acct, fill.fee, oid, f"fee:{exec_id}", what, now),
        -cash + fill.fee if side == "buy" else Decimal(0),
        fill,
        exec_id,
    )  # fmt: skip


def execution_id(cause: str, order_id: uuid.UUID, n: int) -> uuid.UUID:
    """The same cause (event id) filling the same order gives the same id: a replay can never add a fill."""
    return uuid.uuid5(EXECUTION_IDS, f"{cause}:{order_id}:{n}")


@dataclass
class Book:
    """One transaction's changes to the book, and the trade updates they produce."""

    conn: Connection[Any]
    producer: str
    cause: str  # the id of the event being applied: part of every derived id
    correlation_id: str | None = None
    staged: list[outbox.Staged] = field(default_factory=list)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    # ------------------------------------------------------------ reading and locking

    def lock(self, order_id: uuid.UUID) -> dict[str, Any] | None:
        """Lock the order's account, then the order (the one lock order: see ORDER_ACCOUNT_LOCKED)."""
        row = self.conn.execute(_LOCK, (order_id, order_id)).fetchone()
        return dict(row) if row else None

    def claim_and_lock(self, consumer: str, order_id: uuid.UUID) -> tuple[bool, dict[str, Any] | None]:
        """Claim the cause in `ops.inbox` and lock the order, in one round trip: (newly claimed, the order)."""
        row = self.conn.execute(_CLAIM_AND_LOCK, (consumer, self.cause, order_id, order_id)).fetchone()
        if row is None:  # no such order; the claim (if new) commits with nothing else
            return True, None
        order = dict(row)
        return bool(order.pop("claimed")), order

    def lock_related(self, order: dict[str, Any], statuses: frozenset[str]) -> list[dict[str, Any]]:
        """The other orders of a contingent group (legs, and the parent of a leg), in one lock order (by id)."""
        parent = order["parent_id"] or order["id"]
        rows = self.conn.execute(
            f"select {COLUMNS} from trading.orders where (parent_id = %s or id = %s) and id <> %s"
            " and status = any(%s) order by id for update",
            (parent, parent, order["id"], list(statuses)),
        ).fetchall()
        return [dict(r) for r in rows]

    # ------------------------------------------------------------ status and events

    def trade_update(self, order: dict[str, Any], event: str, *, seq: str | None = None, **fields: Any) -> Envelope:
        """The trade update envelope for the order as it stands now (its id derives from order, event, cause)."""
        update = trade_update_json(order["account_id"], event, self.now, order, **fields)
        return Envelope.new(
            TRADE_UPDATE,
            update,
            producer=self.producer,
            correlation_id=self.correlation_id,
            id=trade_update_id(order["id"], event, seq or self.cause),
            occurred_at=self.now,
        )

    def emit(
        self,
        order: dict[str, Any],
        event: str,
        *,
        seq: str | None = None,
        also: list[outbox.Also] | None = None,
        **fields: Any,
    ) -> None:
        """Stage the trade update, with `also` (the writes it reports) in the same statement."""
        envelope = self.trade_update(order, event, seq=seq, **fields)
        self.staged.append(outbox.stage(self.conn, ORDERS_EVENTS, str(order["account_id"]), envelope, also=also))

    def move(self, order: dict[str, Any], target: str, event: str | None = None, *, reason: str | None = None) -> None:
        """Advance the order's status (refusing what the lifecycle forbids) and emit `event`, in one statement."""
        order["status"] = st.advance(order["status"], target)
        ended = _ENDED_AT.get(target)
        stamp = f", {ended} = %s" if ended else ""
        writes: list[outbox.Also] = [
            (
                f"update trading.orders set status = %s, updated_at = %s{stamp} where id = %s",
                (target, self.now, *((self.now,) if ended else ()), order["id"]),
            )
        ]
        if st.is_terminal(target):
            writes.append(
                (
                    "update trading.reservations set released_at = %s where order_id = %s and released_at is null",
                    (self.now, order["id"]),
                )
            )
        if event:
            self.emit(order, event, reason=reason, also=writes)
            return
        for sql, params in writes:
            self.conn.execute(sql, params)

    # ------------------------------------------------------------ fills

    def fill(self, order: dict[str, Any], fill: Fill, exec_id: uuid.UUID) -> None:
        """One fill in two statements: the position; then the fill row, cash and fee entries, the reservation,
        the order's quantities and status, and its trade update."""
        position_qty = self._position(order, fill)
        booked = book_fill(order, fill, exec_id, self.now)
        writes: list[outbox.Also] = [
            (_FILL_ROW, booked.fill_row),
            (_FILL_CASH, booked.cash_rows),
            (_FILL_RESERVATION, (booked.spent, order["status"] == st.FILLED, self.now, order["id"])),
            (
                _FILL_ORDER,
                (order["filled_qty"], order["filled_avg_price"], order["status"], self.now, self.now, order["id"]),
            ),
        ]
        self.emit(order, booked.event, seq=str(exec_id), also=writes, **booked.update_fields(position_qty))

    def _position(self, order: dict[str, Any], fill: Fill) -> Decimal:
        signed = fill.qty if order["side"] == "buy" else -fill.qty
        params = {"a": order["account_id"], "s": order["symbol"], "q": signed, "px": fill.price, "now": self.now}
        row = self.conn.execute(_POSITION, params).fetchone()
        assert row is not None
        return Decimal(row["qty"])

    def apply(self, order: dict[str, Any], decision: Decision) -> None:
        """What the venue or matcher decided for a working order: fills, a canceled remainder, carried state."""
        for n, fill in enumerate(decision.fills):
            self.fill(order, fill, execution_id(self.cause, order["id"], n))
        if decision.outcome == "canceled" and not st.is_terminal(order["status"]):
            self.move(order, st.CANCELED, "canceled", reason=decision.reason)
        if decision.hwm != order["hwm"] or decision.triggered != order["stop_triggered"]:
            order["hwm"], order["stop_triggered"] = decision.hwm, decision.triggered
            self.conn.execute(
                "update trading.orders set hwm = %s, stop_triggered = %s where id = %s",
                (decision.hwm, decision.triggered, order["id"]),
            )
        if decision.fills or st.is_terminal(order["status"]):
            self.contingents(order)

    # ------------------------------------------------------------ contingent orders

    def contingents(self, order: dict[str, Any]) -> None:
        """Bracket/OTO legs start when the parent fills; one side of an OCO filling cancels (or resizes) the other."""
        if order["parent_id"] is None and order["order_class"] in ("bracket", "oto"):
            self._parent_done(order)
        elif order["parent_id"] is not None or order["order_class"] == "oco":
            self._sibling_filled(order)

    def _parent_done(self, parent: dict[str, Any]) -> None:
        for leg in self.lock_related(parent, frozenset({st.HELD})):
            if parent["status"] == st.FILLED:
                self.move(leg, st.NEW, "new")
            elif st.is_terminal(parent["status"]):
                self.move(leg, st.CANCELED, "canceled", reason="parent order ended unfilled")

    def _sibling_filled(self, order: dict[str, Any]) -> None:
        if order["filled_qty"] <= 0 and order["status"] != st.FILLED:
            return
        for other in self.lock_related(order, st.OPEN - {st.HELD}):
            if other["parent_id"] is None and other["order_class"] != "oco":
                continue  # a bracket's parent is not a sibling of its legs
            if order["status"] == st.FILLED:
                self.move(other, st.CANCELED, "canceled", reason="the other side of the OCO filled")
            elif other["filled_qty"] == 0 and order["qty"] is not None:
                # A partly filled exit shrinks its sibling to what is still open.
                other["qty"] = order["qty"] - order["filled_qty"]
                self.conn.execute("update trading.orders set qty = %s where id = %s", (other["qty"], other["id"]))
