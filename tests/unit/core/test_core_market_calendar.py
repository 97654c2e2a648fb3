"""The NYSE calendar and clock from exchange_calendars, in Alpaca's shapes, at fixed instants."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from alpaca.trading.models import Calendar as AlpacaCalendar
from alpaca.trading.models import Clock as AlpacaClock
from tp_core.market_calendar import CalendarRangeError, Sessions


@pytest.fixture(scope="module")
def sessions() -> Sessions:
    return Sessions.xnys()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_open_during_a_regular_session(sessions: Sessions) -> None:
    clock = sessions.clock(at("2026-11-24T10:00:00-05:00"))  # a Tuesday
    assert clock.is_open
    assert clock.next_close.isoformat() == "2026-11-24T16:00:00-05:00"
    assert clock.next_open.isoformat() == "2026-11-25T09:30:00-05:00"
    assert clock.timestamp.isoformat() == "2026-11-24T10:00:00-05:00"


def test_closed_over_thanksgiving_and_early_close_the_day_after(sessions: Sessions) -> None:
    clock = sessions.clock(at("2026-11-26T12:00:00-05:00"))  # Thanksgiving: closed
    assert not clock.is_open
    assert clock.next_open.isoformat() == "2026-11-27T09:30:00-05:00"
    assert clock.next_close.isoformat() == "2026-11-27T13:00:00-05:00"  # early close


def test_closed_on_a_weekend_and_at_the_closing_bell(sessions: Sessions) -> None:
    weekend = sessions.clock(at("2026-11-28T12:00:00-05:00"))
    assert not weekend.is_open and weekend.next_open.isoformat() == "2026-11-30T09:30:00-05:00"
    bell = sessions.clock(at("2026-11-30T16:00:00-05:00"))  # the close itself is after the session
    assert not bell.is_open and bell.next_open.isoformat() == "2026-12-01T09:30:00-05:00"
    opening = sessions.clock(at("2026-11-30T09:30:00-05:00"))
    assert opening.is_open


def test_summer_time_offset(sessions: Sessions) -> None:
    clock = sessions.clock(at("2026-07-02T15:00:00Z"))
    assert clock.is_open and clock.timestamp.isoformat() == "2026-07-02T11:00:00-04:00"
    assert clock.next_close.isoformat() == "2026-07-02T16:00:00-04:00"


def test_clock_parses_with_alpaca_py(sessions: Sessions) -> None:
    clock = AlpacaClock(**sessions.clock(at("2026-11-24T10:00:00-05:00")).model_dump(mode="json"))
    assert clock.is_open and clock.next_close.hour == 16


def test_calendar_days_between_dates(sessions: Sessions) -> None:
    days = [d.model_dump(mode="json") for d in sessions.between(date(2026, 12, 23), date(2027, 1, 4))]
    assert days == [
        {"date": "2026-12-23", "open": "09:30", "close": "16:00", "settlement_date": "2026-12-24"},
        {"date": "2026-12-24", "open": "09:30", "close": "13:00", "settlement_date": "2026-12-28"},
        {"date": "2026-12-28", "open": "09:30", "close": "16:00", "settlement_date": "2026-12-29"},
        {"date": "2026-12-29", "open": "09:30", "close": "16:00", "settlement_date": "2026-12-30"},
        {"date": "2026-12-30", "open": "09:30", "close": "16:00", "settlement_date": "2026-12-31"},
        {"date": "2026-12-31", "open": "09:30", "close": "16:00", "settlement_date": "2027-01-04"},
        {"date": "2027-01-04", "open": "09:30", "close": "16:00", "settlement_date": "2027-01-05"},
    ]
    parsed = AlpacaCalendar(**days[1])
    assert parsed.close.hour == 13 and parsed.date == date(2026, 12, 24)


def test_calendar_without_bounds_spans_the_library_range(sessions: Sessions) -> None:
    days = sessions.between(None, None)
    assert days[0].date == sessions.first_day and len(days) > 250 * 15
    assert sessions.between(date(2026, 11, 26), date(2026, 11, 26)) == []  # a holiday


def test_clock_outside_the_span_is_refused(sessions: Sessions) -> None:
    with pytest.raises(CalendarRangeError):
        sessions.clock(datetime(2100, 1, 1, tzinfo=UTC))
