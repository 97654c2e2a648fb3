"""The order status state machine shared by the Core API and execution (tradeplane.contracts.order_status)."""

from __future__ import annotations

import itertools

import pytest
from tradeplane.contracts import order_status as s

LEGAL = [
    ("accepted", "new"),
    ("accepted", "canceled"),
    ("accepted", "rejected"),
    ("accepted", "replaced"),
    ("held", "new"),
    ("held", "canceled"),
    ("new", "partially_filled"),
    ("new", "filled"),
    ("new", "pending_cancel"),
    ("new", "expired"),
    ("new", "replaced"),
    ("partially_filled", "partially_filled"),
    ("partially_filled", "filled"),
    ("partially_filled", "canceled"),
    ("pending_cancel", "canceled"),
    ("pending_cancel", "filled"),
    ("pending_replace", "replaced"),
]
ILLEGAL = [
    ("canceled", "filled"),  # a fill never lands on a canceled order
    ("filled", "canceled"),  # nor a cancel on a filled one
    ("filled", "partially_filled"),
    ("replaced", "filled"),
    ("expired", "new"),
    ("rejected", "new"),
    ("new", "accepted"),
    ("new", "new"),
    ("held", "filled"),  # a held leg must be activated first
    ("accepted", "filled"),  # the venue acknowledges before it fills
    ("new", "nonsense"),
]


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_legal_transitions_advance(current: str, target: str) -> None:
    assert s.advance(current, target) == target


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_transitions_are_refused(current: str, target: str) -> None:
    with pytest.raises(s.IllegalTransitionError) as info:
        s.advance(current, target)
    assert info.value.current == current and info.value.target == target


def test_every_pair_is_either_allowed_or_refused_and_terminal_statuses_have_no_exit() -> None:
    assert {"filled", "canceled", "expired", "replaced", "rejected"} == s.TERMINAL
    for current, target in itertools.product(sorted(s.ALL), repeat=2):
        if s.can_advance(current, target):
            assert s.advance(current, target) == target
            assert not s.is_terminal(current)
        else:
            with pytest.raises(s.IllegalTransitionError):
                s.advance(current, target)


def test_every_status_is_one_the_book_accepts() -> None:
    from pathlib import Path

    schema = (Path(__file__).parents[3] / "migrations" / "0006_trading_book.sql").read_text()
    for status in s.ALL:
        assert f"'{status}'" in schema
