"""Alpaca's Order shape, built from a `trading.orders` row: the one view of an order every surface gives.

The Core API answers `/v2/orders` with it and the streaming domain puts it in each
trade update's `order`, so a bot sees the same order on REST and on the stream.
Money and quantities leave as plain decimal strings (Order accepts them), times as
aware datetimes (the caller's JSON encoder writes RFC 3339), ids as UUID strings.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

ORDER_TIMES: Final = (
    "created_at",
    "updated_at",
    "submitted_at",
    "filled_at",
    "expired_at",
    "canceled_at",
    "failed_at",
    "replaced_at",
)
ORDER_PRICES: Final = ("limit_price", "stop_price", "trail_price", "trail_percent", "hwm", "filled_avg_price")
# The `trading.orders` columns `order_view` reads.
ORDER_VIEW_COLUMNS: Final = (
    "id, client_order_id, symbol, asset_class, side, type, time_in_force, order_class, qty, notional,"
    " limit_price, stop_price, trail_price, trail_percent, hwm, extended_hours, position_intent, status,"
    " filled_qty, filled_avg_price, replaces, replaced_by, " + ", ".join(ORDER_TIMES)
)


def asset_id(symbol: str) -> uuid.UUID:
    """The id of `symbol`'s asset; the table's `instruments_id_from_symbol` constraint computes the same."""
    return uuid.UUID(hashlib.md5(f"tradeplane-asset:{symbol}".encode(), usedforsecurity=False).hexdigest())


def plain(value: Decimal | None) -> str | None:
    """A decimal as Alpaca writes it: no exponent, no trailing zeros ("1", "190.5")."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def order_view(row: Mapping[str, Any], legs: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": str(row["id"]),
        "client_order_id": row["client_order_id"],
        **{t: row[t] for t in ORDER_TIMES},
        "expires_at": None,
        "replaced_by": str(row["replaced_by"]) if row["replaced_by"] else None,
        "replaces": str(row["replaces"]) if row["replaces"] else None,
        "asset_id": str(asset_id(row["symbol"])),
        "symbol": row["symbol"],
        "asset_class": row["asset_class"],
        "notional": plain(row["notional"]),
        "qty": plain(row["qty"]),
        "filled_qty": plain(row["filled_qty"]),
        "order_class": row["order_class"],
        "order_type": row["type"],
        "type": row["type"],
        "side": row["side"],
        "position_intent": row["position_intent"],
        "time_in_force": row["time_in_force"],
        "status": row["status"],
        "extended_hours": row["extended_hours"],
        "legs": [order_view(leg) for leg in legs] if legs else None,
        "subtag": None,
        "source": None,
    }
    view.update({p: plain(row[p]) for p in ORDER_PRICES})
    return view
