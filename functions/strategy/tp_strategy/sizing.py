"""How many shares a target direction means: pure Decimal arithmetic, shared by the live runner and the backtester.

    rule = SizingRule.model_validate({"kind": "fixed_notional", "notional": "5000"})   # strategies.sizing (jsonb)
    qty = order_qty(rule, 1, price=Decimal("190.5"), equity=..., cash=..., position=Decimal(0), allow_short=False)
    # qty > 0: buy qty; qty < 0: sell -qty; 0: nothing to do

- A target in the direction already held keeps the position as it is (no resizing on every signal).
- A -1 target when shorts are not allowed means flat.
- Reversing (long -> short or back) is one order: close the position and open the new one.
- Sizes round down: to whole shares, or to 1e-8 share when `fractional`.
- `all_cash` spends the cash the account would hold after closing its current position; a short of
  that kind is the same amount sold short.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tp_strategy.interface import Direction

__all__ = ["AMOUNT_OF", "SizingRule", "order_qty", "target_qty"]

ZERO = Decimal(0)
WHOLE = Decimal(1)
FRACTION = Decimal("0.00000001")
HUNDRED = Decimal(100)

Kind = Literal["fixed_qty", "fixed_notional", "percent_equity", "all_cash"]
# The amount field each kind takes (all_cash takes none).
AMOUNT_OF: dict[str, str | None] = {
    "fixed_qty": "qty",
    "fixed_notional": "notional",
    "percent_equity": "percent",
    "all_cash": None,
}


class SizingRule(BaseModel):
    """{"kind": "fixed_qty", "qty": 10} | {"kind": "fixed_notional", "notional": 5000} |
    {"kind": "percent_equity", "percent": 25} | {"kind": "all_cash"}; "fractional": true for fractional shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    qty: Decimal | None = Field(None, gt=0)
    notional: Decimal | None = Field(None, gt=0)
    percent: Decimal | None = Field(None, gt=0, le=100)
    fractional: bool = False

    @model_validator(mode="after")
    def _amount_matches_kind(self) -> SizingRule:
        need = AMOUNT_OF[self.kind]
        given = [name for name in ("qty", "notional", "percent") if getattr(self, name) is not None]
        if need and need not in given:
            raise ValueError(f"sizing {self.kind} needs {need}")
        extra = [name for name in given if name != need]
        if extra:
            raise ValueError(f"sizing {self.kind} takes no {', '.join(extra)}")
        if self.kind == "fixed_qty" and not self.fractional and self.qty != self.qty.to_integral_value():  # type: ignore[union-attr]
            raise ValueError("sizing fixed_qty: a fractional qty needs fractional: true")
        return self


def _round(qty: Decimal, fractional: bool) -> Decimal:
    return qty.quantize(FRACTION if fractional else WHOLE, rounding=ROUND_DOWN) if qty > 0 else ZERO


def target_qty(rule: SizingRule, *, price: Decimal, equity: Decimal, cash: Decimal, position: Decimal) -> Decimal:
    """The unsigned size a new position of this rule would have at `price`."""
    if price <= 0:
        raise ValueError("sizing needs a positive price")
    if rule.kind == "fixed_qty":
        raw = rule.qty or ZERO
    elif rule.kind == "fixed_notional":
        raw = (rule.notional or ZERO) / price
    elif rule.kind == "percent_equity":
        raw = equity * (rule.percent or ZERO) / HUNDRED / price
    else:  # all_cash: the cash left after closing what is held (a long's proceeds, a short's buy-back)
        raw = (cash + position * price) / price
    return _round(raw, rule.fractional)


def order_qty(
    rule: SizingRule,
    direction: Direction,
    *,
    price: Decimal,
    equity: Decimal,
    cash: Decimal,
    position: Decimal,
    allow_short: bool,
) -> Decimal:
    """The signed order quantity (buy > 0, sell < 0) that moves `position` to what `direction` asks for."""
    wanted = 0 if direction == -1 and not allow_short else direction
    if wanted == 0:
        return ZERO - position
    if (position > 0 and wanted == 1) or (position < 0 and wanted == -1):
        return ZERO  # already held that way: keep it
    size = target_qty(rule, price=price, equity=equity, cash=cash, position=position)
    if size == 0:
        return ZERO - position  # too little to open anything: at least close what is held against the signal
    return wanted * size - position
