"""Pre-trade risk: each rule is a small function of the order and what the book says.

Rules run in a fixed order and the first failure rejects the order with the rule's
name and a reason, in Alpaca's status and message where Alpaca has one (403 with
code 40310000 for buying power and available quantity, 422 with 42210000 for an
asset that cannot be traded). Every limit comes from the account's risk settings;
a null limit means the rule does not apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from typing import Any, Literal

from tp_core.order_models import OrderRequest

CENT = Decimal("0.01")


@dataclass(frozen=True)
class RiskContext:
    order: OrderRequest
    settings: Mapping[str, Any]  # a core.risk_settings row
    buying_power: Decimal
    position_qty: Decimal  # signed, current
    open_sell_qty: Decimal  # what open sell orders of this symbol already hold
    last_price: Decimal | None
    orders_last_minute: int
    # The symbol in market.instruments: "tradable" (active and tradable), "untradable", or "unknown" (no row).
    asset: Literal["tradable", "untradable", "unknown"]

    @property
    def price(self) -> Decimal | None:
        """The price the order is expected to trade at: its own limit/stop, else the last price."""
        order = self.order
        return order.limit_price or order.stop_price or self.last_price

    @property
    def notional(self) -> Decimal | None:
        if self.order.notional is not None:
            return self.order.notional
        price = self.price
        return None if price is None or self.order.qty is None else self.order.qty * price

    @property
    def signed_qty(self) -> Decimal:
        qty = self.order.qty
        if qty is None:
            notional, price = self.order.notional, self.price
            qty = notional / price if notional is not None and price else Decimal(0)
        return qty if self.order.side == "buy" else -qty


@dataclass(frozen=True)
class Rejection:
    rule: str
    message: str
    status: int = 403
    code: int = 40310000


Rule = Callable[[RiskContext], Rejection | None]


def trading_blocked(ctx: RiskContext) -> Rejection | None:
    if ctx.settings.get("trading_blocked"):
        return Rejection("trading_blocked", "trading is blocked for this account (kill switch)")
    return None


def tradable_asset(ctx: RiskContext) -> Rejection | None:
    """The asset must be in market.instruments, active and tradable (what GET /v2/assets says); an account
    may narrow that further with its own `tradable_symbols`."""
    symbol = ctx.order.symbol
    if ctx.asset == "unknown":
        return Rejection("tradable_asset", f'asset "{symbol}" not found', 422, 42210000)
    symbols = ctx.settings.get("tradable_symbols")
    if ctx.asset != "tradable" or (symbols is not None and symbol not in symbols):
        return Rejection("tradable_asset", f'asset "{symbol}" is not tradable', 422, 42210000)
    return None


def orders_per_minute(ctx: RiskContext) -> Rejection | None:
    limit = ctx.settings.get("max_orders_per_minute")
    if limit is not None and ctx.orders_last_minute >= limit:
        return Rejection("max_orders_per_minute", f"more than {limit} orders in the last minute")
    return None


def price_band(ctx: RiskContext) -> Rejection | None:
    band, limit, last = ctx.settings.get("price_band_pct"), ctx.order.limit_price, ctx.last_price
    if band is None or limit is None or last is None:
        return None
    off = abs(limit - last) / last * 100
    if off > band:
        return Rejection(
            "price_band", f"limit price {limit} is {off:.2f}% from the last price {last} (band {band}%)", 422, 42210000
        )
    return None


def no_shorting(ctx: RiskContext) -> Rejection | None:
    if ctx.order.side != "sell" or ctx.settings.get("shorting_enabled"):
        return None
    available = max(ctx.position_qty - ctx.open_sell_qty, Decimal(0))
    requested = -ctx.signed_qty
    if requested > available:
        return Rejection(
            "no_shorting", f"insufficient qty available for order (requested: {requested}, available: {available})"
        )
    return None


def max_position(ctx: RiskContext) -> Rejection | None:
    limit = ctx.settings.get("max_position_qty")
    projected = abs(ctx.position_qty + ctx.signed_qty)
    if limit is not None and projected > limit and projected > abs(ctx.position_qty):
        return Rejection("max_position_qty", f"the position in {ctx.order.symbol} would be {projected} (limit {limit})")
    return None


def max_notional(ctx: RiskContext) -> Rejection | None:
    limit, notional = ctx.settings.get("max_order_notional"), ctx.notional
    if limit is not None and notional is not None and notional > limit:
        return Rejection("max_order_notional", f"order notional {notional:.2f} exceeds the limit {limit}")
    return None


def buying_power(ctx: RiskContext) -> Rejection | None:
    needed = reservation(ctx)
    if needed > ctx.buying_power:
        return Rejection("buying_power", "insufficient buying power")
    return None


RULES: tuple[Rule, ...] = (
    trading_blocked,
    tradable_asset,
    orders_per_minute,
    price_band,
    no_shorting,
    max_position,
    max_notional,
    buying_power,
)


def reservation(ctx: RiskContext) -> Decimal:
    """Cash a buy order holds back while open (0 for sells, and for a market order with no price yet)."""
    notional = ctx.notional
    if ctx.order.side != "buy" or notional is None:
        return Decimal(0)
    return notional.quantize(CENT, rounding=ROUND_UP)


def check(ctx: RiskContext, rules: tuple[Rule, ...] = RULES) -> Rejection | None:
    """The first rule the order breaks, or None."""
    for rule in rules:
        rejection = rule(ctx)
        if rejection is not None:
            return rejection
    return None
