"""Per-strategy P&L maths (average cost): hand-computed cases and the mark-to-market identity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from tp_strategy.api.activity_models import FillView
from tp_strategy.pnl import Book, attribute

D = Decimal
T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def fill(side: str, qty: str, price: str, symbol: str = "AAPL", i: int = 0) -> FillView:
    return FillView(
        id=uuid.uuid4(), order_id=uuid.uuid4(), symbol=symbol, side=side, qty=D(qty), price=D(price),
        occurred_at=T0 + timedelta(minutes=i),
    )  # fmt: skip


def test_long_round_trip_with_an_open_remainder() -> None:
    fills = [fill("buy", "10", "100", i=0), fill("buy", "10", "110", i=1), fill("sell", "15", "120", i=2)]
    pnl = attribute(uuid.uuid4(), fills, lambda s: D("130"), {"AAPL": D("1.50")})
    (aapl,) = pnl.symbols
    assert aapl.qty == D(5) and aapl.avg_entry_price == D(105)
    assert aapl.realized_pl == D("225.00")  # 15 * (120 - 105)
    assert aapl.unrealized_pl == D("125.00")  # 5 * (130 - 105)
    assert pnl.fees == D("1.50") and pnl.total_pl == D("348.50")


def test_short_cover_and_flip() -> None:
    fills = [fill("sell", "10", "50", i=0), fill("buy", "15", "40", i=1)]  # cover 10 (+100), then long 5 at 40
    (book,) = attribute(uuid.uuid4(), fills, lambda s: D("45"), {}).symbols
    assert book.realized_pl == D("100.00") and book.qty == D(5) and book.avg_entry_price == D(40)
    assert book.unrealized_pl == D("25.00")


def test_unknown_price_leaves_unrealised_unknown_but_flat_is_zero() -> None:
    pnl = attribute(
        uuid.uuid4(),
        [fill("buy", "1", "10", "X", 0), fill("buy", "2", "5", "Y", 1), fill("sell", "2", "6", "Y", 2)],
        lambda s: None,
        {},
    )
    by = {s.symbol: s for s in pnl.symbols}
    assert by["X"].unrealized_pl is None and by["X"].last_price is None
    assert by["Y"].unrealized_pl == D(0) and by["Y"].avg_entry_price is None and by["Y"].realized_pl == D("2.00")
    assert pnl.unrealized_pl == D(0)


def test_another_strategys_fills_are_not_in_the_input() -> None:
    """Attribution happens in SQL (client order ids); with no fills there is nothing, not the account's P&L."""
    pnl = attribute(uuid.uuid4(), [], lambda s: D(1), {})
    assert pnl.symbols == [] and pnl.total_pl == D(0)


prices = st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2)
qtys = st.integers(min_value=1, max_value=500).map(D)


@given(st.lists(st.tuples(st.sampled_from(["buy", "sell"]), qtys, prices), min_size=1, max_size=40), prices)
def test_realised_plus_unrealised_is_cash_flow_plus_position_value(trades: list[tuple[str, D, D]], mark: D) -> None:
    book = Book()
    cash = D(0)
    for side, qty, price in trades:
        book.apply(side, qty, price)
        cash += -qty * price if side == "buy" else qty * price
    unrealised = book.qty * (mark - book.avg) if book.qty else D(0)
    assert abs(book.realized + unrealised - (cash + book.qty * mark)) < D("1e-12")
    expected_qty = sum((q if s == "buy" else -q for s, q, _ in trades), D(0))
    assert book.qty == expected_qty
