"""The NYSE trading calendar and clock in Alpaca's shapes, from `exchange_calendars` (XNYS).

`Sessions.xnys()` reads the maintained calendar once (at a function's init: it
imports pandas) into a sorted list of sessions with UTC open and close times;
answering a clock or calendar request is then a bisect over plain datetimes.
The library's default span is used: twenty years back to one year ahead, which
it keeps current as holidays are announced.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

__all__ = ["NEW_YORK", "CalendarDay", "CalendarRangeError", "Clock", "Day", "Session", "Sessions"]

NEW_YORK = ZoneInfo("America/New_York")
EXCHANGE = "XNYS"
DAY_OR_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})([Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?$")


def _day_text(value: object) -> object:
    """`YYYY-MM-DD`, or an RFC 3339 timestamp whose date is taken as written (alpaca-trade-api documents
    both for its calendar bounds). Anything else is refused: pydantic's date would also take epoch numbers."""
    if isinstance(value, date):
        return value
    match = DAY_OR_TIMESTAMP.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("expected a date as YYYY-MM-DD or an RFC 3339 timestamp")
    return match.group(1)


Day = Annotated[
    date,
    BeforeValidator(_day_text),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}),
]


class CalendarRangeError(ValueError):
    """The instant or dates asked for lie outside the span the calendar covers."""


@dataclass(frozen=True)
class Session:
    day: date
    open: datetime  # UTC
    close: datetime  # UTC


class Clock(BaseModel):
    """Alpaca's clock: times in New York with their offset."""

    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


class CalendarDay(BaseModel):
    """Alpaca's calendar day: `open`/`close` are New York wall-clock `HH:MM`."""

    date: dt.date
    open: Annotated[str, Field(pattern=r"^\d{2}:\d{2}$", examples=["09:30"])]
    close: Annotated[str, Field(pattern=r"^\d{2}:\d{2}$", examples=["16:00"])]
    settlement_date: dt.date = Field(description="T+1: the next session")


class Sessions:
    """Trading sessions, oldest first."""

    def __init__(self, sessions: Sequence[Session]) -> None:
        if not sessions:
            raise ValueError("a calendar needs at least one session")
        self._sessions = list(sessions)
        self._days = [s.day for s in self._sessions]
        self._closes = [s.close for s in self._sessions]

    @classmethod
    def xnys(cls) -> Sessions:
        import exchange_calendars

        schedule = exchange_calendars.get_calendar(EXCHANGE).schedule
        return cls(
            [
                Session(day.date(), opens.to_pydatetime(), closes.to_pydatetime())
                for day, opens, closes in zip(schedule.index, schedule["open"], schedule["close"], strict=True)
            ]
        )

    @property
    def first_day(self) -> date:
        return self._days[0]

    @property
    def last_day(self) -> date:
        return self._days[-1]

    def clock(self, now: datetime) -> Clock:
        """Whether the market is open at `now` (aware), and its next open and close."""
        i = bisect.bisect_right(self._closes, now)  # the first session that has not closed yet
        if now < self._sessions[0].open - timedelta(days=7) or i + 1 >= len(self._sessions):
            raise CalendarRangeError(f"{now.isoformat()} is outside the calendar's span")
        current = self._sessions[i]
        is_open = current.open <= now
        return Clock(
            timestamp=now.astimezone(NEW_YORK),
            is_open=is_open,
            next_open=(self._sessions[i + 1] if is_open else current).open.astimezone(NEW_YORK),
            next_close=current.close.astimezone(NEW_YORK),
        )

    def between(self, start: date | None, end: date | None) -> list[CalendarDay]:
        """Sessions from `start` to `end` inclusive (each defaults to the calendar's edge; none if start > end)."""
        lo = bisect.bisect_left(self._days, start) if start else 0
        hi = bisect.bisect_right(self._days, end) if end else len(self._days)
        hi = min(hi, len(self._days) - 1)  # the last session has no settlement day in the span
        return [self._day(i) for i in range(lo, hi)]

    def _day(self, i: int) -> CalendarDay:
        session = self._sessions[i]
        return CalendarDay(
            date=session.day,
            open=session.open.astimezone(NEW_YORK).strftime("%H:%M"),
            close=session.close.astimezone(NEW_YORK).strftime("%H:%M"),
            settlement_date=self._days[i + 1],
        )
