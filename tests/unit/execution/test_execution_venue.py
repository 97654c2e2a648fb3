"""The venue interface's ambiguity rule, the paper venue, and position arithmetic."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal as D  # noqa: N817 - short, the tests are full of literals

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tp_execution.paper_venue import PaperVenue
from tp_execution.position_math import Position, cash_for_fill
from tp_execution.venue import AMBIGUOUS, Outcome, StillAmbiguousError, VenueOrder, submit_resolved
from tradeplane.fill_model import NO_PRICE, FillConfig, Order

ORDER = VenueOrder("coid-1", "AAPL", Order("buy", "market", qty=D(1)))


@dataclass
class TimeoutVenue:
    """Executes the first submit but answers it with a timeout; counts what it was asked."""

    inner: PaperVenue
    lose_first: bool = True  # True: the venue got the order; False: the request never arrived
    name: str = "flaky"
    submits: int = 0
    queries: list[str] = field(default_factory=list)

    def submit(self, order: VenueOrder) -> Outcome:
        self.submits += 1
        if self.submits == 1:
            if self.lose_first:
                self.inner.submit(order)
            return AMBIGUOUS
        return self.inner.submit(order)

    def cancel(self, client_order_id: str) -> Outcome:
        return self.inner.cancel(client_order_id)

    def replace(self, client_order_id: str, new: VenueOrder) -> Outcome:
        return self.inner.replace(client_order_id, new)

    def query(self, client_order_id: str) -> Outcome | None:
        self.queries.append(client_order_id)
        return self.inner.query(client_order_id)


def paper(price: str | None = "100") -> PaperVenue:
    return PaperVenue(FillConfig(), lambda _symbol: None if price is None else D(price))


def test_a_timeout_is_resolved_by_query_not_by_resubmitting() -> None:
    venue = TimeoutVenue(paper())
    outcome = submit_resolved(venue, ORDER)
    assert outcome.kind == "accepted" and outcome.decision is not None and outcome.decision.filled_qty == D(1)
    assert venue.submits == 1 and venue.queries == ["coid-1"]


def test_an_order_the_venue_never_received_is_submitted_again_under_the_same_id() -> None:
    venue = TimeoutVenue(paper(), lose_first=False)
    assert submit_resolved(venue, ORDER).kind == "accepted"
    assert venue.submits == 2 and venue.queries == ["coid-1"]


def test_a_venue_that_never_answers_fails_the_event_for_a_retry() -> None:
    class Silent(TimeoutVenue):
        def submit(self, order: VenueOrder) -> Outcome:
            self.submits += 1
            return AMBIGUOUS

        def query(self, client_order_id: str) -> Outcome | None:
            return AMBIGUOUS

    with pytest.raises(StillAmbiguousError):
        submit_resolved(Silent(paper()), ORDER)


def test_paper_venue_answers_a_repeated_client_order_id_with_its_first_answer() -> None:
    venue = paper()
    first = venue.submit(ORDER)
    venue.prices = lambda _s: D(200)
    assert venue.submit(ORDER) == first
    assert paper(None).submit(ORDER) == Outcome.rejected(NO_PRICE)


def test_positions_average_in_and_realize_out() -> None:
    p = Position().after("buy", D(10), D(100)).after("buy", D(10), D(110))
    assert (p.qty, p.avg_entry_price) == (D(20), D(105))
    p = p.after("sell", D(5), D(115))
    assert (p.qty, p.avg_entry_price, p.realized_pl) == (D(15), D(105), D(50))
    flipped = p.after("sell", D(20), D(100))  # closes 15 at a loss of 5 each, opens 5 short at 100
    assert (flipped.qty, flipped.avg_entry_price, flipped.realized_pl) == (D(-5), D(100), D(-25))
    assert cash_for_fill("buy", D(3), D("33.333")) == D("-100.00")


fills = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.decimals(min_value=D(1), max_value=D(100), places=2),
        st.decimals(min_value=D(1), max_value=D(500), places=2),
    ),
    max_size=20,
)


@given(fills)
def test_position_quantity_is_the_signed_sum_of_fills(trades: list[tuple[str, D, D]]) -> None:
    position = Position()
    for side, qty, price in trades:
        position = position.after(side, qty, price)
        assert position.avg_entry_price >= 0
        assert position.qty != 0 or position.avg_entry_price == 0
    assert position.qty == sum((q if s == "buy" else -q for s, q, _ in trades), D(0))
