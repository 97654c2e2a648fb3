"""Which auction an opg/cls order takes part in, on the real XNYS calendar (UTC in, UTC out).

Dates: Mon 2026-03-02 (EST: open 14:30Z, close 21:00Z), Fri 2026-03-06 -> Mon 2026-03-09 (the
weekend, and the switch to EDT: open 13:30Z), Fri 2026-11-27 (early close 13:00 ET = 18:00Z).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tp_execution.auctions import Auction, XnysSessions, auction_for

SESSIONS = XnysSessions()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        ("2026-03-02T05:00:00", "2026-03-02T14:30:00"),  # night before the open: that morning's open
        ("2026-03-02T14:27:59", "2026-03-02T14:30:00"),  # 09:27:59 ET: last moment before the cutoff
        ("2026-03-03T00:00:00", "2026-03-03T14:30:00"),  # 19:00 ET: queued for the next session
        ("2026-03-06T23:59:59", None),  # Friday 18:59:59 ET: still refused
        ("2026-03-07T00:00:00", "2026-03-09T13:30:00"),  # Friday 19:00 ET -> Monday's open (EDT by then)
        ("2026-03-08T15:00:00", "2026-03-09T13:30:00"),  # Sunday
    ],
)
def test_opg_takes_the_next_opening_auction_outside_the_refusal_window(submitted: str, expected: str | None) -> None:
    auction = auction_for("opg", "market", at(submitted), SESSIONS)
    assert auction.at == (at(expected) if expected else None)


@pytest.mark.parametrize(
    "submitted",
    ["2026-03-02T14:28:00", "2026-03-02T14:30:00", "2026-03-02T18:00:00", "2026-03-02T21:30:00", "2026-03-02T23:59:59"],
)
def test_opg_from_0928_to_1900_et_is_refused_as_alpaca_does(submitted: str) -> None:
    auction = auction_for("opg", "limit", at(submitted), SESSIONS)
    assert auction == Auction(None, "opg orders are not accepted between 09:28 and 19:00 ET")


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        ("2026-03-02T14:00:00", "2026-03-02T21:00:00"),  # before the open: that day's close
        ("2026-03-02T20:49:59", "2026-03-02T21:00:00"),  # 15:49:59 ET, during the session
        ("2026-03-02T20:50:00", None),  # 15:50 ET: the cutoff
        ("2026-03-02T23:59:59", None),
        ("2026-03-03T00:00:00", "2026-03-03T21:00:00"),  # 19:00 ET: the next session's close
        ("2026-11-27T17:49:59", "2026-11-27T18:00:00"),  # early close: 12:49:59 ET takes the 13:00 close
        ("2026-11-27T17:50:00", None),  # 12:50 ET on an early close
        ("2026-11-28T15:00:00", "2026-11-30T21:00:00"),  # Saturday -> Monday's close
    ],
)
def test_cls_takes_the_closing_auction_ten_minutes_before_the_close(submitted: str, expected: str | None) -> None:
    auction = auction_for("cls", "limit", at(submitted), SESSIONS)
    assert auction.at == (at(expected) if expected else None)
    if expected is None:
        assert auction.refusal is not None and auction.refusal.startswith("cls orders are not accepted between")


def test_only_market_and_limit_orders_take_part_in_auctions() -> None:
    auction = auction_for("opg", "stop", at("2026-03-02T05:00:00"), SESSIONS)
    assert auction == Auction(None, "opg orders must be market or limit orders")
