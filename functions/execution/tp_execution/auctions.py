"""Opening and closing auctions: paper `opg` and `cls` orders execute at the session's open or close.

Alpaca's rules (Trading API, "time in force"), on the XNYS calendar in US/Eastern time:
- `opg` (market or limit on open) executes only in the opening auction; what is unfilled
  after it is canceled. Submitted from 09:28 (two minutes before the open) until 19:00
  of a session day it is rejected; submitted after 19:00 (or on a closed day) it waits
  for the next session's open.
- `cls` (market or limit on close) executes only in the closing auction; the cutoff is
  ten minutes before the close (15:50 on a full day, 12:50 on an early close).

The executor leaves a paper `opg`/`cls` order `accepted` (Alpaca's status for an order held
until it can be routed); the scheduled `order_expiry` run decides it here, each minute:
rejected if it came inside a cutoff window; at its auction time, filled at the latest
trade price by the shared fill model (a limit order only if marketable, never bound by
volume: an auction crosses everything at one price) and its remainder canceled. A run
that finds an auction older than `STALE_AFTER` (execution was down) cancels instead of
filling at a price that is no longer the auction's. Every decision is one transaction
under the order's row lock, with event ids derived from the auction, so a retried run
changes nothing. What decides an order's auction (time in force, type, submission time,
asset class) never changes after it is accepted, so the run reads it with the list and
locks only the orders that are due: one waiting for a later session costs no lock, on
its account or itself, each minute until then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from tradeplane import db, outbox
from tradeplane.contracts import order_status as st
from tradeplane.fill_model import NO_PRICE, FillConfig, on_arrival

from tp_execution.book import Book, spec_of

PRODUCER = "order_expiry"
AUCTION_TIFS = ("opg", "cls")
AUCTION_TYPES = ("market", "limit")
EASTERN = ZoneInfo("America/New_York")
OPG_CUTOFF = timedelta(minutes=2)  # 09:28 for a 09:30 open
CLS_CUTOFF = timedelta(minutes=10)  # 15:50 for a 16:00 close
QUEUE_FROM = time(19, 0)  # submitted after this (Eastern), an order waits for the next session
STALE_AFTER = timedelta(minutes=15)

_HELD = """
select o.id, o.time_in_force, o.type, o.submitted_at, o.asset_class from trading.orders o
where o.status = 'accepted' and o.time_in_force = any(%s) and o.submitted_at <= %s
  and not exists (select 1 from core.account_venues v where v.account_id = o.account_id and v.venue <> 'paper')
order by o.submitted_at, o.id
"""


class Sessions(Protocol):
    """The exchange calendar, as much as auctions need (UTC in, UTC out)."""

    def session_times(self, day: date) -> tuple[datetime, datetime] | None:
        """(open, close) of the session on this Eastern date; None when the market is closed that day."""
        ...

    def next_session_after(self, day: date) -> tuple[datetime, datetime]:
        """(open, close) of the first session on an Eastern date after `day`."""
        ...


@dataclass(frozen=True)
class Auction:
    """When an order executes (`at`), or why it is refused (`refusal`)."""

    at: datetime | None
    refusal: str | None = None


def auction_of(order: Mapping[str, Any], sessions: Sessions) -> Auction:
    """The auction of an accepted `opg`/`cls` order (a `trading.orders` row), or its refusal."""
    if order["asset_class"] == "crypto":  # around the clock: no auction to take part in (Alpaca: gtc, ioc only)
        return Auction(None, f"{order['time_in_force']} orders are not accepted for crypto assets")
    return auction_for(order["time_in_force"], order["type"], order["submitted_at"], sessions)


def auction_for(time_in_force: str, order_type: str, submitted_at: datetime, sessions: Sessions) -> Auction:
    """The auction an `opg`/`cls` order submitted at `submitted_at` (UTC) takes part in, or its refusal."""
    if order_type not in AUCTION_TYPES:
        return Auction(None, f"{time_in_force} orders must be market or limit orders")
    local = submitted_at.astimezone(EASTERN)
    today = sessions.session_times(local.date())
    queue_from = datetime.combine(local.date(), QUEUE_FROM, EASTERN)
    if today is not None:
        open_, close = today
        at, cutoff = (open_, open_ - OPG_CUTOFF) if time_in_force == "opg" else (close, close - CLS_CUTOFF)
        if submitted_at < cutoff:
            return Auction(at)
        if submitted_at < queue_from:
            window = f"{cutoff.astimezone(EASTERN):%H:%M} and {QUEUE_FROM:%H:%M} ET"
            return Auction(None, f"{time_in_force} orders are not accepted between {window}")
    open_, close = sessions.next_session_after(local.date())
    return Auction(open_ if time_in_force == "opg" else close)


class XnysSessions:
    """`Sessions` from exchange_calendars' XNYS (early closes included)."""

    @staticmethod
    def _cal() -> Any:
        import exchange_calendars  # imported on first use; it keeps one calendar per name itself

        return exchange_calendars.get_calendar("XNYS")

    def session_times(self, day: date) -> tuple[datetime, datetime] | None:
        cal = self._cal()
        if not cal.is_session(day.isoformat()):
            return None
        return _utc(cal.session_open(day.isoformat())), _utc(cal.session_close(day.isoformat()))

    def next_session_after(self, day: date) -> tuple[datetime, datetime]:
        cal = self._cal()
        session = cal.date_to_session((day + timedelta(days=1)).isoformat(), direction="next")
        return _utc(cal.session_open(session)), _utc(cal.session_close(session))


def _utc(ts: Any) -> datetime:
    return ts.to_pydatetime().astimezone(UTC)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class AuctionResult:
    filled: int = 0
    canceled: int = 0
    rejected: int = 0


PriceSource = Callable[[str], Decimal | None]


def run_auctions(now: datetime, sessions: Sessions, prices: PriceSource, config: FillConfig) -> AuctionResult:
    """Decide every held paper `opg`/`cls` order whose refusal or auction is due at `now`."""
    with db.transaction() as conn:
        rows = conn.execute(_HELD, (list(AUCTION_TIFS), now)).fetchall()
    due = [r["id"] for r in rows if _due(auction_of(r, sessions), now)]
    staged: list[outbox.Staged] = []
    counts = {"fill": 0, "canceled": 0, "rejected": 0}
    try:
        for order_id in due:
            with db.transaction() as conn:
                outcome = _decide(Book(conn, PRODUCER, "", now=now), order_id, now, sessions, prices, config)
            if outcome is not None:
                staged.extend(outcome[1])
                counts[outcome[0]] += 1
    finally:
        outbox.publish(staged)
    return AuctionResult(counts["fill"], counts["canceled"], counts["rejected"])


def _decide(
    book: Book, order_id: Any, now: datetime, sessions: Sessions, prices: PriceSource, config: FillConfig
) -> tuple[str, list[outbox.Staged]] | None:
    order = book.lock(order_id)
    if order is None or order["status"] != st.ACCEPTED:
        return None  # canceled by its owner (or decided by a concurrent run) since the list was read
    auction = auction_of(order, sessions)
    if auction.at is None:
        book.cause = f"auction-refused-{order_id}"
        book.move(order, st.REJECTED, "rejected", reason=auction.refusal)
        return "rejected", book.staged
    if not _due(auction, now):
        return None
    book.cause = f"auction-{order['time_in_force']}-{auction.at:%Y%m%dT%H%M}"
    if now - auction.at > STALE_AFTER:
        book.move(order, st.NEW, "new")
        book.move(order, st.CANCELED, "canceled", reason="the auction passed before the order could take part")
        return "canceled", book.staged
    price = prices(order["symbol"])
    if price is None and order["type"] == "market":
        book.move(order, st.REJECTED, "rejected", reason=NO_PRICE)
        return "rejected", book.staged
    book.move(order, st.NEW, "new")
    # At the auction the order is an ordinary market or limit order for one instant, with no volume bound.
    decision = on_arrival(replace(spec_of(order), time_in_force="ioc"), price, replace(config, participation=None))
    if decision.outcome == "canceled":
        decision = replace(decision, reason=f"not filled in the {_name(order)} auction")
    book.apply(order, decision)
    return ("fill" if decision.fills else "canceled"), book.staged


def _due(auction: Auction, now: datetime) -> bool:
    """Whether the order is decided now: refused, or its auction has come."""
    return auction.at is None or auction.at <= now


def _name(order: dict[str, Any]) -> str:
    return "opening" if order["time_in_force"] == "opg" else "closing"
