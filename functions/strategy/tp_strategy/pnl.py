"""Per-strategy P&L on a shared account: its own fills (through its signals' client order ids), average cost.

Realised P&L is booked when a fill reduces the strategy's position (long or short) against its
average entry price; what remains is valued at the latest price (`px:<SYMBOL>` through
`tradeplane.latest_price`) as unrealised P&L, unknown (None) when Redis has no price. Fees are the
fee entries the ledger ties to the strategy's orders. The maths is pure (`attribute`), so its
identity (realised + unrealised = cash flows + position x price) is property-tested.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from tradeplane.auth import Principal
from tradeplane.db import transaction

from tp_strategy.access import READ
from tp_strategy.activity import ORDERS_OF_STRATEGY, strategy_fills
from tp_strategy.api.activity_models import FillView, PnlView, SymbolPnl
from tp_strategy.catalog import strategy_row

__all__ = ["Book", "attribute", "strategy_pnl"]

CENT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass
class Book:
    """One symbol's position from the strategy's fills, at average cost."""

    qty: Decimal = ZERO
    avg: Decimal = ZERO
    realized: Decimal = ZERO

    def apply(self, side: str, qty: Decimal, price: Decimal) -> None:
        signed = qty if side == "buy" else -qty
        if self.qty == 0 or (self.qty > 0) == (signed > 0):  # opening or adding: new average
            total = self.qty + signed
            self.avg = (self.avg * abs(self.qty) + price * qty) / abs(total)
            self.qty = total
            return
        closing = min(qty, abs(self.qty))  # reducing (and maybe flipping) the position
        direction = Decimal(1) if self.qty > 0 else Decimal(-1)
        self.realized += closing * (price - self.avg) * direction
        self.qty += closing * -direction
        rest = qty - closing
        if rest > 0:  # flipped: the rest opens the other side at this price
            self.qty, self.avg = rest * (1 if signed > 0 else -1), price
        elif self.qty == 0:
            self.avg = ZERO


def attribute(
    strategy_id: uuid.UUID,
    fills: Iterable[FillView],
    last_price: Callable[[str], Decimal | None],
    fees: Mapping[str, Decimal],
) -> PnlView:
    """P&L of `fills` (oldest first) per symbol and in total; money rounded to cents at the end."""
    books: dict[str, Book] = {}
    for fill in fills:
        books.setdefault(fill.symbol, Book()).apply(fill.side, fill.qty, fill.price)
    symbols: list[SymbolPnl] = []
    for symbol in sorted(set(books) | set(fees)):
        book = books.get(symbol, Book())
        price = last_price(symbol) if book.qty != 0 else None
        unrealized = ZERO if book.qty == 0 else (None if price is None else book.qty * (price - book.avg))
        symbols.append(
            SymbolPnl(
                symbol=symbol,
                qty=book.qty,
                avg_entry_price=book.avg if book.qty != 0 else None,
                realized_pl=book.realized.quantize(CENT),
                unrealized_pl=None if unrealized is None else unrealized.quantize(CENT),
                last_price=price,
                fees=fees.get(symbol, ZERO).quantize(CENT),
            )
        )
    realized = sum((s.realized_pl for s in symbols), ZERO)
    unrealized_total = sum((s.unrealized_pl or ZERO for s in symbols), ZERO)
    fee_total = sum((s.fees for s in symbols), ZERO)
    return PnlView(
        strategy_id=strategy_id,
        realized_pl=realized,
        unrealized_pl=unrealized_total,
        fees=fee_total,
        total_pl=realized + unrealized_total - fee_total,
        symbols=symbols,
    )


def strategy_pnl(caller: Principal, strategy_id: uuid.UUID) -> PnlView:
    from tradeplane.latest_price import last_price

    with transaction(read_only=True) as conn:
        row = strategy_row(conn, caller, strategy_id, READ, deleted=True)
        keys = {"account": row["account_id"], "strategy": strategy_id}
        fills = strategy_fills(conn, keys)
        fee_rows = conn.execute(
            f"""select o.symbol, -sum(l.amount) as fees
                from trading.cash_ledger l join ({ORDERS_OF_STRATEGY}) o on o.id = l.order_id
                where l.account_id = %(account)s and l.entry_type = 'fee' group by o.symbol""",
            keys,
        ).fetchall()
    return attribute(strategy_id, fills, last_price, {r["symbol"]: Decimal(r["fees"]) for r in fee_rows})
