"""How a fill changes a position: signed quantity, average entry price, realized profit and loss."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

PRICE_STEP = Decimal("0.00000001")
CENT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True)
class Position:
    qty: Decimal = ZERO  # signed: negative is short
    avg_entry_price: Decimal = ZERO
    realized_pl: Decimal = ZERO

    def after(self, side: str, qty: Decimal, price: Decimal) -> Position:
        """The position after a fill. Adding keeps a weighted average; reducing realizes P&L at the average;
        crossing through zero realizes the closed part and opens the rest at the fill price."""
        signed = qty if side == "buy" else -qty
        new_qty = self.qty + signed
        if self.qty == 0 or (self.qty > 0) == (signed > 0):
            avg = (abs(self.qty) * self.avg_entry_price + qty * price) / abs(new_qty)
            return Position(new_qty, avg.quantize(PRICE_STEP, ROUND_HALF_UP), self.realized_pl)
        closed = min(qty, abs(self.qty))
        direction = 1 if self.qty > 0 else -1
        realized = (self.realized_pl + (price - self.avg_entry_price) * closed * direction).quantize(
            CENT, ROUND_HALF_UP
        )
        if new_qty == 0:
            return Position(ZERO, ZERO, realized)
        avg = self.avg_entry_price if (new_qty > 0) == (self.qty > 0) else price
        return Position(new_qty, avg, realized)


def cash_for_fill(side: str, qty: Decimal, price: Decimal) -> Decimal:
    """The ledger amount of a fill, to the cent: a buy pays, a sell receives."""
    notional = (qty * price).quantize(CENT, ROUND_HALF_UP)
    return -notional if side == "buy" else notional
