"""Trade update messages: Alpaca's fields, the full order as it stood at the event, decimals as Alpaca writes them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from alpaca.trading.models import TradeUpdate as AlpacaTradeUpdate
from tp_streaming.updates import message
from tradeplane.contracts.trade_updates import TradeUpdate, TradeUpdateOrder

T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
ORDER_ID = uuid.uuid4()


def _update(event: str, status: str, filled: str, **fields: Any) -> TradeUpdate:
    order = TradeUpdateOrder(
        id=ORDER_ID, client_order_id="bot-1", symbol="AAPL", side="buy", type="market", time_in_force="day",
        qty=Decimal("3"), filled_qty=Decimal(filled), status=status,
        filled_avg_price=Decimal("190.50") if filled != "0" else None,
    )  # fmt: skip
    return TradeUpdate(account_id=uuid.uuid4(), event=event, timestamp=T0, order=order, **fields)


def _row(**changes: Any) -> dict[str, Any]:
    """The book's row as it stands now: filled a second after the event."""
    row: dict[str, Any] = {
        "id": ORDER_ID, "client_order_id": "bot-1", "symbol": "AAPL", "asset_class": "us_equity", "side": "buy",
        "type": "market", "time_in_force": "day", "order_class": "simple", "qty": Decimal("3"), "notional": None,
        "limit_price": None, "stop_price": None, "trail_price": None, "trail_percent": None, "hwm": None,
        "extended_hours": False, "position_intent": "buy_to_open", "status": "filled", "filled_qty": Decimal("3"),
        "filled_avg_price": Decimal("190.50"), "replaces": None, "replaced_by": None,
        "created_at": T0 - timedelta(seconds=1), "updated_at": T0 + timedelta(seconds=1),
        "submitted_at": T0 - timedelta(seconds=1), "filled_at": T0 + timedelta(seconds=1), "expired_at": None,
        "canceled_at": None, "failed_at": None, "replaced_at": None,
    }  # fmt: skip
    return {**row, **changes}


def test_a_fill_carries_alpacas_fields_and_parses_in_alpaca_py() -> None:
    execution = uuid.uuid4()
    update = _update(
        "fill", "filled", "3", price=Decimal("190.50"), qty=Decimal("3.000"), position_qty=Decimal("3"),
        execution_id=execution,
    )  # fmt: skip
    data = message("evt-1", update, _row())
    assert (data["price"], data["qty"], data["position_qty"]) == ("190.5", "3", "3")
    assert data["event_id"] == "evt-1" and data["execution_id"] == execution
    parsed = AlpacaTradeUpdate(**_jsonish(data))
    assert parsed.event == "fill" and parsed.order.filled_qty == "3" and parsed.price == 190.5
    assert parsed.order.position_intent == "buy_to_open"  # from the book: the event does not carry it


def test_an_earlier_event_shows_the_order_as_it_was_not_as_it_is() -> None:
    data = message("evt-0", _update("new", "new", "0"), _row())
    order = data["order"]
    assert order["status"] == "new" and order["filled_qty"] == "0" and order["filled_avg_price"] is None
    assert order["filled_at"] is None and order["updated_at"] == T0
    assert order["created_at"] == T0 - timedelta(seconds=1)


def test_an_order_the_book_lacks_still_makes_a_message_alpaca_py_parses() -> None:
    data = message("evt-2", _update("canceled", "canceled", "0"), None)
    parsed = AlpacaTradeUpdate(**_jsonish(data))
    assert parsed.order.status == "canceled" and parsed.order.submitted_at == T0


def _jsonish(data: dict[str, Any]) -> dict[str, Any]:
    import json

    from tradeplane.envelope import jsonable

    return dict(json.loads(json.dumps(jsonable(data))))
