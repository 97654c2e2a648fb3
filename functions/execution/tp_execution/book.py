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
from tradeplane.contracts.trade_updates import TRADE_UPDATE, TradeUpdate, TradeUpdateOrder, trade_update_id
from tradeplane.envelope import Envelope
from tradeplane.fill_model import Decision, Fill, Order

from tp_execution.position_math import Position, cash_for_fill

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
_FILL = """
with f as (
    insert into trading.fills (id, order_id, account_id, symbol, side, qty, price, fee, occurred_at)
    values (%(id)s, %(order_id)s, %(account_id)s, %(symbol)s, %(side)s, %(qty)s, %(price)s, %(fee)s, %(at)s)
), r as (
    update trading.reservations set amount = greatest(amount - %(spent)s, 0)
    where order_id = %(order_id)s and released_at is null
)
insert into trading.cash_ledger
    (id, account_id, entry_type, amount, order_id, idempotency_key, description, occurred_at)
select * from (values
    (%(ledger_fill)s::uuid, %(account_id)s::uuid, 'fill', %(cash)s::numeric, %(order_id)s::uuid, %(key_fill)s, %(what)s,
     %(at)s::timestamptz),
    (%(ledger_fee)s::uuid, %(account_id)s::uuid, 'fee', -%(fee)s::numeric, %(order_id)s::uuid, %(key_fee)s, %(what)s,
     %(at)s::timestamptz)
) as v(id, account_id, entry_type, amount, order_id, idempotency_key, description, occurred_at)
where v.entry_type = 'fill' or %(fee)s::numeric > 0
"""
_POSITION = """
insert into trading.positions as p (account_id, symbol) values (%s, %s)
on conflict (account_id, symbol) do update set updated_at = p.updated_at
returning qty, avg_entry_price, realized_pl
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
        row = self.conn.execute(
            f"select {COLUMNS} from trading.orders where id = %s for update", (order_id,)
        ).fetchone()
        return dict(row) if row else None

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

    def emit(self, order: dict[str, Any], event: str, *, seq: str | None = None, **fields: Any) -> None:
        update = TradeUpdate(
            account_id=order["account_id"],
            event=event,
            timestamp=self.now,
            order=TradeUpdateOrder.model_validate(order),
            **fields,
        )
        envelope = Envelope.new(
            TRADE_UPDATE,
            update,
            producer=self.producer,
            correlation_id=self.correlation_id,
            id=trade_update_id(order["id"], event, seq or self.cause),
            occurred_at=self.now,
        )
        self.staged.append(outbox.stage(self.conn, ORDERS_EVENTS, str(order["account_id"]), envelope))

    def move(self, order: dict[str, Any], target: str, event: str | None = None, *, reason: str | None = None) -> None:
        """Advance the order's status (refusing what the lifecycle forbids) and emit `event`."""
        order["status"] = st.advance(order["status"], target)
        ended = _ENDED_AT.get(target)
        stamp = f", {ended} = %(now)s" if ended and ended != "filled_at" else ""
        self.conn.execute(
            f"update trading.orders set status = %(s)s, updated_at = %(now)s{stamp} where id = %(id)s",
            {"s": target, "now": self.now, "id": order["id"]},
        )
        if st.is_terminal(target):
            self.release(order)
        if event:
            self.emit(order, event, reason=reason)

    def release(self, order: dict[str, Any]) -> None:
        self.conn.execute(
            "update trading.reservations set released_at = %s where order_id = %s and released_at is null",
            (self.now, order["id"]),
        )

    # ------------------------------------------------------------ fills

    def fill(self, order: dict[str, Any], fill: Fill, exec_id: uuid.UUID) -> None:
        """One fill: the fill row, cash and fee entries, the reservation drawn down, position and order updated."""
        filled = order["filled_qty"] + fill.qty
        target = st.FILLED if order["qty"] is None or filled >= order["qty"] else st.PARTIALLY_FILLED
        st.advance(order["status"], target)
        cash = cash_for_fill(order["side"], fill.qty, fill.price)
        self.conn.execute(
            _FILL,
            {
                "id": exec_id,
                "order_id": order["id"],
                "account_id": order["account_id"],
                "symbol": order["symbol"],
                "side": order["side"],
                "qty": fill.qty,
                "price": fill.price,
                "fee": fill.fee,
                "at": self.now,
                "spent": -cash + fill.fee if order["side"] == "buy" else Decimal(0),
                "cash": cash,
                "ledger_fill": uuid.uuid5(exec_id, "fill"),
                "ledger_fee": uuid.uuid5(exec_id, "fee"),
                "key_fill": f"fill:{exec_id}",
                "key_fee": f"fee:{exec_id}",
                "what": f"{order['side']} {fill.qty} {order['symbol']} @ {fill.price}",
            },
        )
        position_qty = self._position(order, fill)
        previous = (order["filled_avg_price"] or Decimal(0)) * order["filled_qty"]
        order["filled_avg_price"] = ((previous + fill.qty * fill.price) / filled).quantize(Decimal("0.00000001"))
        order["filled_qty"] = filled
        self.conn.execute(
            "update trading.orders set filled_qty = %(q)s, filled_avg_price = %(p)s, updated_at = %(now)s,"
            " filled_at = %(now)s where id = %(id)s",
            {"q": filled, "p": order["filled_avg_price"], "now": self.now, "id": order["id"]},
        )
        self.move(order, target)
        event = "fill" if target == st.FILLED else "partial_fill"
        self.emit(
            order,
            event,
            seq=str(exec_id),
            price=fill.price,
            qty=fill.qty,
            position_qty=position_qty,
            execution_id=exec_id,
        )

    def _position(self, order: dict[str, Any], fill: Fill) -> Decimal:
        row = self.conn.execute(_POSITION, (order["account_id"], order["symbol"])).fetchone()
        assert row is not None
        after = Position(row["qty"], row["avg_entry_price"], row["realized_pl"]).after(
            order["side"], fill.qty, fill.price
        )
        self.conn.execute(
            "update trading.positions set qty = %s, avg_entry_price = %s, realized_pl = %s, updated_at = %s"
            " where account_id = %s and symbol = %s",
            (after.qty, after.avg_entry_price, after.realized_pl, self.now, order["account_id"], order["symbol"]),
        )
        return after.qty

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
