"""Timestamps as vendors write them, read into aware UTC datetimes.

Accepted: ISO 8601 / RFC 3339 (with or without an offset, `T` or a space),
epoch numbers (seconds, milliseconds, microseconds or nanoseconds, told apart by
magnitude), dates alone (`2026-11-24`, `20261124`, `11/24/2026`, `2026/11/24`,
`24.11.2026`) and US date-times (`11/24/2026 14:30[:05]`). A time without an
offset is read in the source's time zone (UTC unless the caller names one).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation

from tradeplane.contracts.market import EARLIEST

_DATE_ONLY = (
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "%Y-%m-%d"),
    (re.compile(r"^\d{8}$"), "%Y%m%d"),
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$"), "%m/%d/%Y"),
    (re.compile(r"^\d{4}/\d{2}/\d{2}$"), "%Y/%m/%d"),
    (re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$"), "%d.%m.%Y"),
)
_US_DATETIME = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M")
_EPOCH = re.compile(r"^\d{9,19}(\.\d+)?$")
# Magnitude bounds that tell epoch units apart (anything below 1e11 s is before year 5138).
_UNITS = ((Decimal(10) ** 11, 1), (Decimal(10) ** 14, 1_000), (Decimal(10) ** 17, 1_000_000))


class TimestampError(ValueError):
    """The text is not a timestamp in any accepted format."""


def is_date_only(text: str) -> bool:
    text = text.strip()
    return any(p.match(text) for p, _ in _DATE_ONLY)


def _epoch(text: str) -> datetime:
    number = Decimal(text)
    divisor = next((d for bound, d in _UNITS if number < bound), 1_000_000_000)
    seconds = number / divisor
    return datetime.fromtimestamp(int(seconds), UTC).replace(microsecond=int((seconds % 1) * 1_000_000))


def _naive(text: str) -> datetime:
    if len(text) > 10 and text[4] == "-":  # ISO 8601, the common case: the C parser, no exceptions
        return datetime.fromisoformat(text)
    for pattern, fmt in _DATE_ONLY:
        if pattern.match(text):
            return datetime.strptime(text, fmt)
    for fmt in _US_DATETIME:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return datetime.fromisoformat(text)


def parse_timestamp(text: str, tz: tzinfo = UTC) -> datetime:
    """`text` as an aware UTC datetime; raises TimestampError with the reason."""
    text = text.strip()
    if not text:
        raise TimestampError("is empty")
    try:
        if len(text) <= 10 or text[4] != "-":  # ISO 8601 (the common case) is never an epoch number
            value = _epoch(text) if _EPOCH.match(text) else _naive(text)
        else:
            value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
    except (ValueError, OverflowError, InvalidOperation):
        raise TimestampError("is not a timestamp in an accepted format") from None
    if value < EARLIEST:
        raise TimestampError("is before 1970-01-01T00:00:00Z")
    return value
