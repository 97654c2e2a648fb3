"""Alpaca trade update messages from `order.trade_update` envelopes, each with the full order.

The event carries the order as it stood after the change (status, filled qty and
price, ...); the book adds what the event does not carry (created and submitted
times, extended hours, position intent, ...). Times the order reached after the
event (a later fill's `filled_at`, say) are left out, so a replayed update reads
as it did live.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tradeplane import db
from tradeplane.contracts.alpaca_orders import ORDER_TIMES, ORDER_VIEW_COLUMNS, order_view, plain
from tradeplane.contracts.trade_updates import TradeUpdate
from tradeplane.envelope import Envelope

from tp_streaming import frames

# Fields the event knows as of its own time; they win over the book's current row.
_AS_OF_EVENT = (
    "status",
    "filled_qty",
    "filled_avg_price",
    "qty",
    "limit_price",
    "stop_price",
    "replaces",
    "replaced_by",
)
# The time each final status stamps; an update shows only the one its own status has reached.
_ENDED_AT = {
    "filled": "filled_at",
    "canceled": "canceled_at",
    "expired": "expired_at",
    "rejected": "failed_at",
    "replaced": "replaced_at",
}


def order_rows(order_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The book's rows of these orders, in one query (the primary: an event follows its commit at once)."""
    if not order_ids:
        return {}
    with db.connection() as conn:
        rows = conn.execute(
            f"select {ORDER_VIEW_COLUMNS} from trading.orders where id = any(%s::uuid[])", (list(set(order_ids)),)
        ).fetchall()
    return {str(r["id"]): dict(r) for r in rows}


def _order_at(update: TradeUpdate, row: dict[str, Any] | None) -> dict[str, Any]:
    event_order = update.order.model_dump()
    base: dict[str, Any] = dict(row) if row else _row_from_event(event_order, update.timestamp)
    base.update({k: event_order[k] for k in _AS_OF_EVENT})
    for status, stamp in _ENDED_AT.items():
        if base["status"] != status:
            base[stamp] = None  # a time the order reached after this event (or never)
    base["updated_at"] = update.timestamp
    return order_view(base)


def _row_from_event(order: dict[str, Any], at: datetime) -> dict[str, Any]:
    """An order the book no longer has (or a replica has not yet): what the event knows of it."""
    return {
        **order,
        **dict.fromkeys(ORDER_TIMES),
        "created_at": at,
        "submitted_at": at,
        "asset_class": "us_equity",
        "trail_price": None,
        "trail_percent": None,
        "hwm": None,
        "extended_hours": False,
        "position_intent": None,
    }


def message(event_id: str, update: TradeUpdate, row: dict[str, Any] | None) -> dict[str, Any]:
    """Alpaca's trade update `data`, plus `event_id` (the replay cursor; Alpaca clients ignore it)."""
    data: dict[str, Any] = {
        "event": update.event,
        "order": _order_at(update, row),
        "timestamp": update.timestamp,
        "event_id": event_id,
    }
    if update.execution_id is not None:
        data["execution_id"] = update.execution_id
    for name in ("price", "qty", "position_qty"):  # decimal strings as Alpaca writes them ("190.5", "3")
        value = getattr(update, name)
        if value is not None:
            data[name] = plain(value)
    return data


def parsed(envelopes: Sequence[Envelope]) -> list[tuple[Envelope, TradeUpdate]]:
    return [(e, e.data_as(TradeUpdate)) for e in envelopes]


def frames_for(events: Sequence[tuple[Envelope, TradeUpdate]]) -> list[tuple[str, bytes]]:
    """Each (event, its parsed update)'s (event id, `trade_updates` frame), built once however many connections
    receive it."""
    rows = order_rows([str(u.order.id) for _, u in events])
    return [(e.id, frames.trade_update(message(e.id, u, rows.get(str(u.order.id))))) for e, u in events]
