"""Alpaca's order requests (POST /v2/orders, PATCH /v2/orders/{id}) and their rules.

Numbers arrive as JSON numbers or numeric strings (alpaca-py sends `"qty": 1.0`,
alpaca-trade-api often strings); both parse into Decimal, never float.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9.\-/]{0,15}$")]
Qty = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=8, allow_inf_nan=False)]
Price = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=8, allow_inf_nan=False)]
Notional = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=2, allow_inf_nan=False)]
Percent = Annotated[Decimal, Field(gt=0, lt=100, max_digits=9, decimal_places=4, allow_inf_nan=False)]
ClientOrderId = Annotated[str, StringConstraints(min_length=1, max_length=48)]

OrderType = Literal["market", "limit", "stop", "stop_limit", "trailing_stop"]
TimeInForce = Literal["day", "gtc", "opg", "cls", "ioc", "fok"]
OrderClass = Literal["simple", "bracket", "oco", "oto"]
Side = Literal["buy", "sell"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)  # Alpaca ignores fields it does not know


class TakeProfit(_Body):
    limit_price: Price


class StopLoss(_Body):
    stop_price: Price
    limit_price: Price | None = None


def _needs(order: OrderRequest) -> list[str]:
    """The price fields an order type requires but the request lacks."""
    required = {
        "limit": ("limit_price",),
        "stop": ("stop_price",),
        "stop_limit": ("limit_price", "stop_price"),
    }.get(order.type, ())
    return [f for f in required if getattr(order, f) is None]


class OrderRequest(_Body):
    symbol: Symbol
    qty: Qty | None = None
    notional: Notional | None = None
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    order_class: OrderClass = "simple"
    limit_price: Price | None = None
    stop_price: Price | None = None
    trail_price: Price | None = None
    trail_percent: Percent | None = None
    extended_hours: bool = False
    client_order_id: ClientOrderId | None = None
    position_intent: Literal["buy_to_open", "buy_to_close", "sell_to_open", "sell_to_close"] | None = None
    take_profit: TakeProfit | None = None
    stop_loss: StopLoss | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = self._amount_problems() + self._price_problems() + self._class_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _amount_problems(self) -> list[str]:
        if (self.qty is None) == (self.notional is None):
            return ["exactly one of qty or notional is required"]
        if self.notional is not None and (self.type != "market" or self.time_in_force != "day"):
            return ["notional orders must be market orders with time_in_force day"]
        return []

    def _price_problems(self) -> list[str]:
        missing = [f"{f} is required for {self.type} orders" for f in _needs(self)]
        if self.type == "trailing_stop" and (self.trail_price is None) == (self.trail_percent is None):
            missing.append("trailing_stop orders need exactly one of trail_price or trail_percent")
        if self.type != "trailing_stop" and (self.trail_price or self.trail_percent):
            missing.append("trail_price and trail_percent are only for trailing_stop orders")
        if self.extended_hours and (self.type != "limit" or self.time_in_force != "day"):
            missing.append("extended_hours orders must be limit orders with time_in_force day")
        return missing

    def _class_problems(self) -> list[str]:
        if self.order_class in ("bracket", "oco") and (self.take_profit is None or self.stop_loss is None):
            return [f"{self.order_class} orders need take_profit and stop_loss"]
        if self.order_class == "oto" and self.take_profit is None and self.stop_loss is None:
            return ["oto orders need take_profit or stop_loss"]
        if self.order_class == "simple" and (self.take_profit or self.stop_loss):
            return ["take_profit and stop_loss need order_class bracket, oco or oto"]
        if self.order_class != "simple" and self.qty is None:
            return ["advanced orders need qty"]
        return []

    def fingerprint(self) -> str:
        """What the client asked for, without the client_order_id: a repeat must match it exactly."""
        content = self.model_dump(mode="json", exclude={"client_order_id"}, exclude_none=True)
        return hashlib.sha256(json.dumps(_normalised(content), sort_keys=True).encode()).hexdigest()


def _normalised(value: Any) -> Any:
    """Numbers compared by value: "1", 1 and 1.0 are the same quantity."""
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in value.items()}
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except ArithmeticError:
            return value
        return str(number.normalize()) if number.is_finite() else value
    return value


class ReplaceRequest(_Body):
    qty: Qty | None = None
    time_in_force: TimeInForce | None = None
    limit_price: Price | None = None
    stop_price: Price | None = None
    trail: Price | None = None
    client_order_id: ClientOrderId | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set - {"client_order_id"}:
            raise ValueError("nothing to replace: give qty, time_in_force, limit_price, stop_price or trail")
        return self
