"""Order status: Alpaca's lifecycle as one state machine, shared by the Core API and execution.

Every status change in the book goes through `advance(current, target)`, which
returns the target or raises `IllegalTransitionError`. Both domains take a row lock on
the order before they read its status, so the check and the write see the same row.

    accepted --(venue acks)--> new --(fill)--> partially_filled --(fill)--> filled
    accepted/held --(client cancel)--> canceled      new --(client cancel)--> pending_cancel --> canceled
"""

from __future__ import annotations

from typing import Final

NEW: Final = "new"
ACCEPTED: Final = "accepted"
PENDING_NEW: Final = "pending_new"
PARTIALLY_FILLED: Final = "partially_filled"
FILLED: Final = "filled"
DONE_FOR_DAY: Final = "done_for_day"
CANCELED: Final = "canceled"
EXPIRED: Final = "expired"
REPLACED: Final = "replaced"
PENDING_CANCEL: Final = "pending_cancel"
PENDING_REPLACE: Final = "pending_replace"
REJECTED: Final = "rejected"
HELD: Final = "held"

# From each status, where it may go next. A status absent as a key is terminal.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    # Accepted by the platform, not yet at a venue: the client may still cancel or replace it here.
    ACCEPTED: frozenset({NEW, PENDING_NEW, REJECTED, CANCELED, REPLACED, EXPIRED, HELD}),
    PENDING_NEW: frozenset({NEW, REJECTED, CANCELED, EXPIRED}),
    # A contingent leg waiting for its parent: activated (new), or ended with it.
    HELD: frozenset({NEW, ACCEPTED, CANCELED, EXPIRED, REPLACED}),
    NEW: frozenset(
        {PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, PENDING_CANCEL, PENDING_REPLACE, REPLACED, DONE_FOR_DAY}
    ),
    PARTIALLY_FILLED: frozenset(
        {PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, PENDING_CANCEL, PENDING_REPLACE, REPLACED, DONE_FOR_DAY}
    ),
    # A venue may still fill an order whose cancel is in flight, or refuse the cancel (back to live).
    PENDING_CANCEL: frozenset({CANCELED, FILLED, PARTIALLY_FILLED, NEW, EXPIRED}),
    PENDING_REPLACE: frozenset({REPLACED, NEW, PARTIALLY_FILLED, FILLED, CANCELED}),
    DONE_FOR_DAY: frozenset({NEW, PARTIALLY_FILLED, CANCELED, EXPIRED}),
}

ALL: Final = frozenset(TRANSITIONS) | frozenset().union(*TRANSITIONS.values())
TERMINAL: Final = ALL - frozenset(TRANSITIONS)
OPEN: Final = frozenset(TRANSITIONS)
# Statuses in which an order can trade at the venue (resting or being worked).
WORKING: Final = frozenset({NEW, PARTIALLY_FILLED})


class IllegalTransitionError(ValueError):
    """A status change the lifecycle does not allow (e.g. a fill on a canceled order)."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"order status may not go from {current!r} to {target!r}")
        self.current = current
        self.target = target


def can_advance(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def advance(current: str, target: str) -> str:
    """`target` when the lifecycle allows `current -> target`; otherwise IllegalTransitionError."""
    if current not in ALL or target not in ALL or not can_advance(current, target):
        raise IllegalTransitionError(current, target)
    return target


def is_terminal(status: str) -> bool:
    return status in TERMINAL
