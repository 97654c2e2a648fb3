"""Pre-trade risk rules and order request validation, as pure functions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from tp_core import risk
from tp_core.order_models import OrderRequest, ReplaceRequest
from tp_core.risk import RiskContext


def order(**kw: Any) -> OrderRequest:
    base = {"symbol": "AAPL", "qty": "10", "side": "buy", "type": "limit", "time_in_force": "day", "limit_price": "100"}
    return OrderRequest.model_validate({**base, **kw})


def ctx(o: OrderRequest | None = None, **kw: Any) -> RiskContext:
    base: dict[str, Any] = {
        "order": o or order(),
        "settings": {},
        "buying_power": Decimal(10_000),
        "position_qty": Decimal(0),
        "open_sell_qty": Decimal(0),
        "last_price": Decimal(100),
        "orders_last_minute": 0,
        "asset": "tradable",
    }
    base.update(kw)
    return RiskContext(**base)


def test_a_plain_order_passes_and_reserves_its_notional() -> None:
    c = ctx()
    assert risk.check(c) is None and risk.reservation(c) == Decimal("1000.00")
    assert risk.reservation(ctx(order(qty="0.333", limit_price="0.01"))) == Decimal("0.01")  # rounded up
    assert risk.reservation(ctx(order(side="sell"), position_qty=Decimal(10))) == 0


@pytest.mark.parametrize(
    ("context", "rule"),
    [
        (ctx(buying_power=Decimal("999.99")), "buying_power"),
        (ctx(settings={"trading_blocked": True}), "trading_blocked"),
        (ctx(settings={"tradable_symbols": ["MSFT"]}), "tradable_asset"),
        (ctx(asset="untradable"), "tradable_asset"),
        (ctx(asset="unknown"), "tradable_asset"),
        (ctx(settings={"max_orders_per_minute": 5}, orders_last_minute=5), "max_orders_per_minute"),
        (ctx(order(limit_price="106"), settings={"price_band_pct": Decimal(5)}), "price_band"),
        (ctx(order(side="sell")), "no_shorting"),
        (ctx(order(side="sell"), position_qty=Decimal(10), open_sell_qty=Decimal(1)), "no_shorting"),
        (ctx(settings={"max_position_qty": Decimal(15)}, position_qty=Decimal(6)), "max_position_qty"),
        (ctx(settings={"max_order_notional": Decimal(999)}), "max_order_notional"),
    ],
)
def test_each_rule_rejects_by_name(context: RiskContext, rule: str) -> None:
    rejection = risk.check(context)
    assert rejection is not None and rejection.rule == rule and rejection.message


def test_limits_that_do_not_bite() -> None:
    assert risk.check(ctx(order(limit_price="104"), settings={"price_band_pct": Decimal(5)})) is None
    assert risk.check(ctx(order(side="sell"), settings={"shorting_enabled": True})) is None
    assert risk.check(ctx(order(side="sell"), position_qty=Decimal(10))) is None
    # Reducing a position over the limit is allowed: only growth beyond it is refused.
    assert (
        risk.check(ctx(order(side="sell"), settings={"max_position_qty": Decimal(5)}, position_qty=Decimal(20))) is None
    )
    market = OrderRequest(symbol="AAPL", qty=Decimal(1), side="buy", type="market", time_in_force="day")
    assert risk.check(ctx(market, last_price=None, buying_power=Decimal(0))) is None  # no price: the executor decides


@pytest.mark.parametrize(
    "fields",
    [
        {"qty": None},
        {"notional": "10"},
        {"limit_price": None},
        {"type": "stop"},
        {"type": "trailing_stop", "limit_price": None},
        {"type": "trailing_stop", "limit_price": None, "trail_price": "1", "trail_percent": "1"},
        {"trail_price": "1"},
        {"order_class": "bracket", "take_profit": {"limit_price": "110"}},
        {"order_class": "oto"},
        {"take_profit": {"limit_price": "110"}},
        {"extended_hours": True, "time_in_force": "gtc"},
        {"client_order_id": "x" * 49},
        {"qty": "NaN"},
        {"qty": "0"},
        {"symbol": "aapl"},
    ],
)
def test_invalid_orders(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        order(**fields)


def test_numbers_and_numeric_strings_are_the_same_order() -> None:
    assert order(qty=1.0, limit_price=100).fingerprint() == order(qty="1", limit_price="100.00").fingerprint()
    assert order(qty=1).fingerprint() != order(qty=2).fingerprint()
    assert order(client_order_id="a").fingerprint() == order(client_order_id="b").fingerprint()


def test_replace_needs_something_to_change() -> None:
    with pytest.raises(ValidationError):
        ReplaceRequest.model_validate({"client_order_id": "x"})
    assert ReplaceRequest.model_validate({"qty": "2"}).qty == Decimal(2)


def test_an_untradable_or_unknown_asset_says_which() -> None:
    unknown, untradable = risk.check(ctx(asset="unknown")), risk.check(ctx(asset="untradable"))
    assert unknown is not None and unknown.message == 'asset "AAPL" not found' and unknown.status == 422
    assert untradable is not None and untradable.message == 'asset "AAPL" is not tradable'
    # The account's own list narrows the instruments table; it cannot widen it.
    narrowed = risk.check(ctx(asset="untradable", settings={"tradable_symbols": ["AAPL"]}))
    assert narrowed is not None and narrowed.rule == "tradable_asset"
    assert risk.check(ctx(settings={"tradable_symbols": ["AAPL"]})) is None
