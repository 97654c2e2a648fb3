"""The paper fill and fee model: how an order fills against prices. Pure Decimal arithmetic, no I/O.

It lives in the shared layer, not in the execution domain, so that the paper venue
(execution) and the backtester (strategy) import the same module and fill alike; a
domain may not import another domain.

- `on_arrival` decides what happens to an order when it reaches the venue, against the
  latest trade price (or, in a backtest, the next bar's open): market orders fill at it
  with slippage and half the spread; limit orders fill if marketable, else rest; stops
  trigger on their stop price; IOC fills what it can and cancels the rest; FOK fills all
  or nothing. A market order with no price is rejected with that reason.
- `on_path` works a resting order against later prices: one tick is a path of one
  point, a bar is `bar_path(...)`, four points in the assumed intra-bar order.
- Volume: with a participation rate, one order takes at most `rate x volume` of a tick
  or bar; without a known volume (a last price alone) there is no bound.
- Fees per fill: per share plus basis points of notional, at least the minimum,
  rounded up to the cent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_UP, Decimal
from typing import Literal

__all__ = [
    "NO_PRICE",
    "Decision",
    "FeeSchedule",
    "Fill",
    "FillConfig",
    "Order",
    "bar_path",
    "on_arrival",
    "on_path",
]

Side = Literal["buy", "sell"]
Outcome = Literal["filled", "partially_filled", "new", "canceled", "rejected"]

ZERO = Decimal(0)
BPS = Decimal(10_000)
CENT = Decimal("0.01")
QTY_STEP = Decimal("0.00000001")
NO_PRICE = "no price available for a market order"


@dataclass(frozen=True)
class FeeSchedule:
    per_share: Decimal = ZERO
    bps: Decimal = ZERO
    minimum: Decimal = ZERO

    def fee(self, qty: Decimal, price: Decimal) -> Decimal:
        raw = qty * self.per_share + qty * price * self.bps / BPS
        return max(raw, self.minimum).quantize(CENT, rounding=ROUND_UP)


@dataclass(frozen=True)
class FillConfig:
    """How the paper venue fills. Slippage and spread are in basis points and always cost the taker."""

    slippage_bps: Decimal = ZERO
    spread_bps: Decimal = ZERO  # the full quoted spread: a market order pays half of it
    participation: Decimal | None = None  # share of a tick's or bar's volume one order may take, in (0, 1]
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    price_step: Decimal = Decimal("0.0001")

    def taker_price(self, side: Side, price: Decimal) -> Decimal:
        """What a market order (or a triggered stop) pays at `price`: worse by slippage and half the spread."""
        cost = (self.slippage_bps + self.spread_bps / 2) / BPS
        if side == "buy":
            return (price * (1 + cost)).quantize(self.price_step, rounding=ROUND_CEILING)
        return (price * (1 - cost)).quantize(self.price_step, rounding=ROUND_FLOOR)

    def volume_cap(self, volume: Decimal | None) -> Decimal | None:
        if volume is None or self.participation is None:
            return None
        return (volume * self.participation).quantize(QTY_STEP, rounding=ROUND_DOWN)


@dataclass(frozen=True)
class Order:
    """What the model needs of an order. `filled_qty`, `hwm` and `triggered` carry its state between calls."""

    side: Side
    type: str  # market | limit | stop | stop_limit | trailing_stop
    time_in_force: str = "day"  # day | gtc | opg | cls | ioc | fok
    qty: Decimal | None = None
    notional: Decimal | None = None  # market orders only: filled at once, never bounded by volume
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    filled_qty: Decimal = ZERO
    hwm: Decimal | None = None  # trailing stops: the best price seen since the order went live
    triggered: bool = False  # stops: the stop price was reached; the order now works as market/limit

    @property
    def remaining(self) -> Decimal | None:
        return None if self.qty is None else self.qty - self.filled_qty


@dataclass(frozen=True)
class Fill:
    qty: Decimal
    price: Decimal
    fee: Decimal


@dataclass(frozen=True)
class Decision:
    """What happened: the fills, where the order stands, and its carried state."""

    outcome: Outcome
    fills: tuple[Fill, ...] = ()
    reason: str | None = None
    hwm: Decimal | None = None
    triggered: bool = False

    @property
    def filled_qty(self) -> Decimal:
        return sum((f.qty for f in self.fills), ZERO)


def bar_path(open_: Decimal, high: Decimal, low: Decimal, close: Decimal) -> tuple[Decimal, ...]:
    """The assumed order of prices inside a bar: O->L->H->C when it closed up (or flat), O->H->L->C when down.

    A bar that closed above its open is taken to have dipped first and rallied to its
    high later; one that closed below, to have rallied first. It is the usual
    backtesting convention; the truth inside a bar is unknown.
    """
    return (open_, low, high, close) if close >= open_ else (open_, high, low, close)


# ---------------------------------------------------------------- triggers and prices


def _trail_stop(order: Order, hwm: Decimal) -> Decimal:
    """The stop a trailing order implies: below the high-water mark for a sell, above the low for a buy."""
    offset = order.trail_price if order.trail_price is not None else hwm * (order.trail_percent or ZERO) / 100
    return hwm - offset if order.side == "sell" else hwm + offset


def _stop_reached(side: Side, price: Decimal, stop: Decimal) -> bool:
    return price >= stop if side == "buy" else price <= stop


def _better_watermark(side: Side, hwm: Decimal | None, price: Decimal) -> Decimal:
    if hwm is None:
        return price
    return max(hwm, price) if side == "sell" else min(hwm, price)


def _marketable(side: Side, price: Decimal, limit: Decimal) -> bool:
    return price <= limit if side == "buy" else price >= limit


@dataclass
class _Walk:
    """A resting order's state while it walks a path of prices."""

    order: Order
    config: FillConfig
    hwm: Decimal | None
    triggered: bool

    def stop_level(self) -> Decimal | None:
        if self.order.type == "trailing_stop":
            return None if self.hwm is None else _trail_stop(self.order, self.hwm)
        return self.order.stop_price

    def fill_price(self, price: Decimal, first: bool) -> Decimal | None:
        """The price this point fills the order at, or None if it does not fill here."""
        order = self.order
        touched = price  # where the path, moving continuously from the previous point, meets the order
        exact = first  # a gap at the first point fills at that point; later ones where the path crossed
        if not self.triggered:
            stop = self.stop_level()
            if stop is None or not _stop_reached(order.side, price, stop):
                if order.type == "trailing_stop":
                    self.hwm = _better_watermark(order.side, self.hwm, price)
                return None
            self.triggered, touched, exact = True, price if first else stop, True
        if order.type in ("limit", "stop_limit"):
            limit = order.limit_price
            assert limit is not None
            if not _marketable(order.side, touched, limit):
                return None
            return touched if exact else limit
        return self.config.taker_price(order.side, touched)


def _initial_triggered(order: Order) -> bool:
    return order.triggered or order.type in ("market", "limit")


def _fillable_qty(order: Order, price: Decimal, cap: Decimal | None) -> Decimal:
    if order.qty is None:  # notional: the whole amount at this price, in 1e-8 shares
        assert order.notional is not None
        return (order.notional / price).quantize(QTY_STEP, rounding=ROUND_DOWN)
    remaining = order.qty - order.filled_qty
    return remaining if cap is None else min(remaining, cap)


def _after_fill(order: Order, qty: Decimal) -> Outcome:
    if order.qty is None or order.filled_qty + qty >= order.qty:
        return "filled"
    return "partially_filled"


def _match(order: Order, path: Sequence[Decimal], volume: Decimal | None, config: FillConfig) -> Decision:
    """Walk the path; fill at the first point that reaches the order, up to the volume cap."""
    walk = _Walk(order, config, order.hwm, _initial_triggered(order))
    for i, point in enumerate(path):
        price = walk.fill_price(point, first=i == 0)
        if price is None:
            continue
        qty = _fillable_qty(order, price, config.volume_cap(volume) if order.notional is None else None)
        if qty <= 0:
            break
        fill = Fill(qty, price, config.fees.fee(qty, price))
        return Decision(_after_fill(order, qty), (fill,), hwm=walk.hwm, triggered=walk.triggered)
    resting: Outcome = "partially_filled" if order.filled_qty > 0 else "new"
    return Decision(resting, hwm=walk.hwm, triggered=walk.triggered)


# ---------------------------------------------------------------- entry points


def _immediate_only(order: Order, decision: Decision) -> Decision:
    """IOC keeps what filled and cancels the rest; FOK keeps nothing unless everything filled."""
    if order.time_in_force == "fok" and decision.outcome != "filled":
        return replace(decision, outcome="canceled", fills=(), reason="fill or kill: not fillable in full")
    if order.time_in_force in ("ioc", "fok") and decision.outcome != "filled":
        return replace(decision, outcome="canceled", reason="immediate or cancel: remainder canceled")
    return decision


def on_arrival(order: Order, last: Decimal | None, config: FillConfig, *, volume: Decimal | None = None) -> Decision:
    """The order reaches the venue; `last` is the latest trade price (None: unknown), `volume` what may trade now."""
    if last is None:
        if order.type == "market":
            return Decision("rejected", reason=NO_PRICE)
        return _immediate_only(order, Decision("new", hwm=order.hwm, triggered=_initial_triggered(order)))
    return _immediate_only(order, _match(order, (last,), volume, config))


def on_path(order: Order, path: Sequence[Decimal], config: FillConfig, *, volume: Decimal | None = None) -> Decision:
    """A resting order against later prices: one tick (a path of one point) or a bar (`bar_path`)."""
    return _match(order, path, volume, config)
