"""The venue interface a broker fits, and the rule for an ambiguous outcome: query, never resubmit blindly.

Every call is keyed by the client order id, so a venue can recognise a repeat. A
submit answers accepted (with whatever filled at once), rejected (with a reason), or
ambiguous (a timeout: the venue may or may not have the order). `submit_resolved`
turns an ambiguous answer into a known one by querying the venue for the client order
id; it submits again only when the venue says it has never seen that id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from tradeplane.fill_model import Decision, Fill, Order

Kind = Literal["accepted", "rejected", "ambiguous"]


@dataclass(frozen=True)
class VenueOrder:
    """What a venue needs to work an order."""

    client_order_id: str
    symbol: str
    spec: Order


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    decision: Decision | None = None  # accepted: what happened at once (fills, resting, canceled remainder)
    reason: str | None = None

    @classmethod
    def accepted(cls, decision: Decision) -> Outcome:
        return cls("accepted", decision)

    @classmethod
    def rejected(cls, reason: str) -> Outcome:
        return cls("rejected", reason=reason)


AMBIGUOUS = Outcome("ambiguous", reason="no answer from the venue")


class Venue(Protocol):
    name: str

    def submit(self, order: VenueOrder) -> Outcome: ...

    def cancel(self, client_order_id: str) -> Outcome: ...

    def replace(self, client_order_id: str, new: VenueOrder) -> Outcome: ...

    def query(self, client_order_id: str) -> Outcome | None:
        """The venue's current answer for this order; None when it has never seen the id."""
        ...


class StillAmbiguousError(RuntimeError):
    """The venue neither answered nor could say whether it holds the order: retry the whole event later."""


def submit_resolved(
    venue: Venue, order: VenueOrder, *, queries: int = 3, wait: Callable[[int], None] | None = None
) -> Outcome:
    """Submit; if the answer is ambiguous, ask the venue what it holds under the client order id."""
    outcome = venue.submit(order)
    for attempt in range(queries):
        if outcome.kind != "ambiguous":
            return outcome
        if wait is not None:
            wait(attempt)
        known = venue.query(order.client_order_id)
        if known is None:  # the venue never received it: a submit under the same id cannot double it
            outcome = venue.submit(order)
        elif known.kind != "ambiguous":
            return known
    if outcome.kind == "ambiguous":
        raise StillAmbiguousError(f"venue {venue.name} gave no answer for {order.client_order_id}")
    return outcome


def cumulative_fill(outcome: Outcome) -> Fill | None:
    """What the broker has filled in all (an Alpaca venue's outcome carries at most one, cumulative, fill)."""
    if outcome.decision is None or not outcome.decision.fills:
        return None
    return outcome.decision.fills[0]
