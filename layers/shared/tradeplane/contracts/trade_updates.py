"""Trade update events on `orders.events`, keyed by account id: Alpaca's `trade_updates` stream, as events.

Execution (executor, order matcher, order expiry) produces them after the change is
committed; the WebSocket fan-out and strategies consume them. `data` carries Alpaca's
fields (`event`, `order`, `timestamp`, and for fills `price`, `qty`, `position_qty`,
`execution_id`) plus `account_id`, the partition key. Envelope ids are deterministic UUIDs
(of order id, event and its cause), so a relayed or re-sent copy is dropped by consumers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from hashlib import sha1
from typing import Any, Final, Literal, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from tradeplane.envelope import format_timestamp, jsonable

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


_ID_NAMESPACE: Final = TRADE_UPDATE_IDS.bytes


def trade_update_id(order_id: UUID, event: str, cause: str) -> str:
    """A deterministic envelope id (a UUID, as outbox ids are): the same change always gives the same id.

    It is `str(uuid5(TRADE_UPDATE_IDS, name))` written out directly (the SHA-1 of namespace and name, with
    RFC 9562's version and variant bits): `uuid.UUID`'s constructor and `str` are Python and cost twice the
    hash; two ids per execution. Equal to the library's: tests/unit/shared/test_shared_trade_update_json.py.
    """
    name = f"{order_id}:{event}:{cause}".encode()
    digest = bytearray(sha1(_ID_NAMESPACE + name, usedforsecurity=False).digest()[:16])  # an id, not a secret
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


TRADE_EVENTS: Final = frozenset(get_args(TradeEvent))


class _Unusual(Exception):  # noqa: N818 - internal signal: a value the direct path leaves to the models
    """A value whose type the direct path does not handle: the models validate (and convert, or refuse) it."""


def _uuid(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is UUID:
        return str(value)
    raise _Unusual


def _text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    raise _Unusual


def _decimal(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is Decimal and value.is_finite():
        return str(value)
    raise _Unusual


def _required(value: Any) -> Any:
    if value is None:
        raise _Unusual
    return value


_UPDATE_FIELDS: Final = frozenset(TradeUpdate.model_fields) - {"account_id", "event", "timestamp", "order"}


def _order_json(order: Mapping[str, Any]) -> dict[str, Any]:
    get = order.get
    return {
        "id": _required(_uuid(get("id"))),
        "client_order_id": _required(_text(get("client_order_id"))),
        "symbol": _required(_text(get("symbol"))),
        "side": _required(_text(get("side"))),
        "type": _required(_text(get("type"))),
        "time_in_force": _required(_text(get("time_in_force"))),
        "order_class": _required(_text(get("order_class", "simple"))),
        "qty": _decimal(get("qty")),
        "notional": _decimal(get("notional")),
        "filled_qty": _required(_decimal(get("filled_qty", Decimal(0)))),
        "filled_avg_price": _decimal(get("filled_avg_price")),
        "limit_price": _decimal(get("limit_price")),
        "stop_price": _decimal(get("stop_price")),
        "status": _required(_text(get("status"))),
        "parent_id": _uuid(get("parent_id")),
        "replaces": _uuid(get("replaces")),
        "replaced_by": _uuid(get("replaced_by")),
    }


def trade_update_json(
    account_id: UUID, event: str, timestamp: datetime, order: Mapping[str, Any], **fields: Any
) -> dict[str, Any]:
    """`TradeUpdate(...)`'s `data`, as the envelope's JSON writes it (ids, Decimals and the time as text).

    Built directly from a book row, whose columns the database already typed: validating it into
    `TradeUpdateOrder` and `TradeUpdate`, dumping them and converting the dump for JSON was most of the cost
    of a trade update (two per execution). The checks the models make on these types are made here (required
    fields present, texts are text, Decimals finite, the event one of Alpaca's, the time aware); any other
    type (an int quantity, a naive time, an unknown field) goes through the models, which convert or refuse
    it as before. The JSON is the models' byte for byte: tests/unit/shared/test_shared_trade_update_json.py.
    """
    try:
        if event not in TRADE_EVENTS or not _UPDATE_FIELDS.issuperset(fields):
            raise _Unusual
        if type(timestamp) is not datetime or timestamp.utcoffset() is None:
            raise _Unusual
        data = {
            "account_id": _required(_uuid(account_id)),
            "event": event,
            "timestamp": format_timestamp(timestamp),
            "order": _order_json(order),
            "price": _decimal(fields.get("price")),
            "qty": _decimal(fields.get("qty")),
            "position_qty": _decimal(fields.get("position_qty")),
            "execution_id": _uuid(fields.get("execution_id")),
            "reason": _text(fields.get("reason")),
        }
    except _Unusual:
        update = TradeUpdate(
            account_id=account_id,
            event=event,
            timestamp=timestamp,
            order=TradeUpdateOrder.model_validate(order),
            **fields,
        )
        return dict(jsonable(update.model_dump(mode="python")))
    return data
