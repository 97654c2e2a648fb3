"""The paper venue: fills with the shared fill model (`tradeplane.fill_model`) at the latest trade price.

Its durable state is the book itself: a resting order is a `new`/`partially_filled` row
that the order matcher works against later ticks and bars. What it answered for each
client order id is remembered (the latest 10,000 ids per container), so a repeated
submit or a query after a timeout gets the same answer instead of a second execution.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from tradeplane.fill_model import NO_PRICE, Decision, FillConfig, on_arrival

from tp_execution.venue import Outcome, VenueOrder

PriceSource = Callable[[str], Decimal | None]
PricesSource = Callable[[Collection[str]], Mapping[str, Decimal | None]]
REMEMBERED = 10_000


@dataclass
class PaperVenue:
    config: FillConfig
    prices: PriceSource
    batch_prices: PricesSource | None = None  # many symbols in one read, for `priced`
    name: str = "paper"
    _answers: OrderedDict[str, Outcome] = field(default_factory=OrderedDict)

    def priced(self, symbols: Collection[str]) -> PaperVenue:
        """This venue (the same remembered answers) pricing from one read of `symbols`' latest prices.

        A batch's orders are decided within milliseconds of each other; one read per symbol for the
        batch instead of one per order was the executor's largest per-order cost (a Redis round trip).
        """
        if self.batch_prices is None:
            return self
        snapshot = dict(self.batch_prices(symbols))
        return replace(self, prices=lambda symbol: snapshot[symbol] if symbol in snapshot else self.prices(symbol))

    def submit(self, order: VenueOrder) -> Outcome:
        known = self._answers.get(order.client_order_id)
        if known is not None:
            return known
        decision = on_arrival(order.spec, self.prices(order.symbol), self.config)
        if decision.outcome == "rejected":
            outcome = Outcome.rejected(decision.reason or NO_PRICE)
        else:
            outcome = Outcome.accepted(decision)
        self._remember(order.client_order_id, outcome)
        return outcome

    def cancel(self, client_order_id: str) -> Outcome:
        """A paper order rests in the book, so a cancel always succeeds here; the book decides under its row lock."""
        outcome = Outcome.accepted(Decision("canceled"))
        self._remember(client_order_id, outcome)
        return outcome

    def replace(self, client_order_id: str, new: VenueOrder) -> Outcome:
        self.cancel(client_order_id)
        return self.submit(new)

    def query(self, client_order_id: str) -> Outcome | None:
        return self._answers.get(client_order_id)

    def _remember(self, client_order_id: str, outcome: Outcome) -> None:
        self._answers[client_order_id] = outcome
        while len(self._answers) > REMEMBERED:
            self._answers.popitem(last=False)
