"""Day orders expire at the close of the session they were submitted in (exchange calendar, XNYS).

Assets that trade around the clock (`asset_class = 'crypto'`) have no close and are
left alone. Each order expires in its own transaction under its row lock, so a fill or
cancel that got there first wins; the trade update id derives from the session close,
so a second run (or a retried schedule) emits nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tradeplane import db, outbox
from tradeplane.contracts import order_status as st

from tp_execution.book import Book

PRODUCER = "order_expiry"
ALWAYS_OPEN = ("crypto",)
EXPIRABLE = sorted(s for s in st.OPEN if st.can_advance(s, st.EXPIRED))

_DUE = """
select id from trading.orders
where time_in_force = 'day' and status = any(%s) and asset_class <> all(%s) and submitted_at < %s
order by submitted_at, id
"""


@dataclass(frozen=True)
class ExpiryResult:
    session_close: datetime | None
    expired: int


def xnys_last_close(now: datetime) -> datetime | None:
    """The latest XNYS session close at or before `now` (UTC), from exchange_calendars."""
    import exchange_calendars

    calendar = exchange_calendars.get_calendar("XNYS")
    try:
        close = calendar.previous_close(now.replace(second=0, microsecond=0))
    except ValueError:  # outside the calendar's span
        return None
    return datetime.fromisoformat(close.isoformat())


def expire_day_orders(now: datetime, last_close: Callable[[datetime], datetime | None]) -> ExpiryResult:
    close = last_close(now)
    if close is None:
        return ExpiryResult(None, 0)
    with db.transaction() as conn:
        due = [r["id"] for r in conn.execute(_DUE, (EXPIRABLE, list(ALWAYS_OPEN), close)).fetchall()]
    staged: list[outbox.Staged] = []
    try:
        for order_id in due:
            with db.transaction() as conn:
                book = Book(conn, PRODUCER, f"close-{close:%Y%m%dT%H%M}", now=now)
                order = book.lock(order_id)
                if order is not None and st.can_advance(order["status"], st.EXPIRED):
                    book.move(order, st.EXPIRED, "expired")
                    book.contingents(order)
            staged.extend(book.staged)
    finally:
        outbox.publish(staged)
    return ExpiryResult(close, sum(1 for s in staged if s.envelope.data.get("event") == "expired"))
