"""The /v2 views parse as alpaca-py's own models (the SDK's required fields, enums and number encodings)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from alpaca.trading.models import AccountConfiguration, Order, Position, TradeAccount
from tp_core.alpaca import account_view, configuration_view, position_view
from tradeplane.contracts.alpaca_orders import order_view, plain
from tradeplane.envelope import jsonable

NOW = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


def wire(view: Any) -> Any:
    """What the client receives: JSON text, decoded."""
    return json.loads(json.dumps(jsonable(view)))


def order_row(**kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "client_order_id": "c-1",
        "symbol": "AAPL",
        "asset_class": "us_equity",
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "order_class": "simple",
        "qty": Decimal("2.00000000"),
        "notional": None,
        "limit_price": Decimal("150.25000000"),
        "stop_price": None,
        "trail_price": None,
        "trail_percent": None,
        "hwm": None,
        "filled_qty": Decimal(0),
        "filled_avg_price": None,
        "extended_hours": False,
        "position_intent": None,
        "status": "accepted",
        "replaces": None,
        "replaced_by": None,
    }
    row.update(dict.fromkeys(("filled_at", "expired_at", "canceled_at", "failed_at", "replaced_at")))
    row.update(created_at=NOW, updated_at=NOW, submitted_at=NOW)
    row.update(kw)
    return row


def test_order_with_legs_parses_as_alpaca_order() -> None:
    legs = [order_row(type="stop", stop_price=Decimal(140), limit_price=None, status="held", side="sell")]
    order = Order.model_validate(wire(order_view(order_row(order_class="bracket"), legs)))
    assert order.qty == "2" and order.limit_price == "150.25" and order.status == "accepted"
    assert order.legs is not None and order.legs[0].stop_price == "140"


def test_account_position_and_configuration_parse() -> None:
    position = position_view(
        {"symbol": "AAPL", "qty": Decimal(10), "avg_entry_price": Decimal(100), "realized_pl": Decimal(0)}, Decimal(110)
    )
    parsed = Position.model_validate(wire(position))
    assert parsed.unrealized_pl == "100.00" and parsed.side == "long"
    account = {"id": uuid.uuid4(), "account_number": "PA1", "status": "ACTIVE", "currency": "USD", "created_at": NOW}
    settings = {
        "trading_blocked": False,
        "shorting_enabled": False,
        "fractional_trading": True,
        "trade_confirm_email": "none",
    }
    trade_account = TradeAccount.model_validate(
        wire(account_view(account, settings, Decimal(1000), Decimal(900), [position]))
    )
    assert trade_account.equity == "2100.00" and trade_account.buying_power == "900.00"
    assert AccountConfiguration.model_validate(wire(configuration_view(settings))).no_shorting is True
    closed = wire(account_view({**account, "status": "CLOSED"}, settings, Decimal(0), Decimal(0), []))
    assert TradeAccount.model_validate(closed).status == "ACCOUNT_CLOSED"


def test_plain_numbers() -> None:
    assert [plain(Decimal(x)) for x in ("1.00000000", "100", "0E-8", "-0.50", "1E+2")] == [
        "1",
        "100",
        "0",
        "-0.5",
        "100",
    ]


def test_activity_types_are_alpacas_and_the_book_records_a_subset() -> None:
    from alpaca.trading.enums import ActivityType
    from tp_core.activities import ALPACA_TYPES, RECORDED

    assert {t.value for t in ActivityType} == ALPACA_TYPES
    assert {"FILL", "CSD", "CSW", "FEE"} == RECORDED
