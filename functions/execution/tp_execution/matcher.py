"""The order matcher: works resting orders against ticks and bars, in price-time priority per symbol.

A tick is a path of one price with the tick's size as volume; a bar is four prices in
the assumed intra-bar order (`tradeplane.fill_model.bar_path`: O->L->H->C for a bar
that closed at or above its open, O->H->L->C otherwise) with the bar's volume. Only
orders submitted before the price (a tick's time, a bar's start) can trade on it, and
only first publications of a bar (revision 0): a revised bar's prices were matched
already.

Priority: buys by limit price high to low, sells low to high (market and stop orders,
which take any price, first), then by submission time. With a participation rate the
tick's or bar's volume is shared out in that order, separately per side.

Orders the price does not touch (as last read) are skipped without a lock. Each order that
changes is its own transaction: row lock, re-read status (a cancel, the executor or expiry may
have ended it), decide again, then claim `<market event id>:<order id>`
in `ops.inbox` only when something changes, so a redelivered tick or bar changes nothing
and idle orders leave no inbox rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import Connection
from tradeplane import db, inbox, outbox
from tradeplane.contracts import order_status as st
from tradeplane.contracts.market import BAR_EVENT, TICK_EVENT, Bar, tick_from_envelope
from tradeplane.envelope import Envelope
from tradeplane.fill_model import Decision, FillConfig, bar_path, on_path

from tp_execution.book import COLUMNS, Book, spec_of

CONSUMER = "order_matcher"
MARKET_EVENTS = frozenset({TICK_EVENT, BAR_EVENT})

_CANDIDATES = f"""
select {COLUMNS} from trading.orders
where symbol = %s and status in ('new', 'partially_filled') and submitted_at <= %s and venue = 'paper'
"""


@dataclass(frozen=True)
class PricePoint:
    """One tick or bar, as the matcher sees it."""

    event_id: str
    symbol: str
    at: datetime  # orders submitted after this instant do not trade on it
    path: tuple[Decimal, ...]
    volume: Decimal | None
    correlation_id: str | None = None


@dataclass
class MatchResult:
    fills: int = 0
    orders_changed: int = 0
    staged: list[outbox.Staged] = field(default_factory=list)


def price_point(envelope: Envelope) -> PricePoint | None:
    """A tick or a first-published bar; None for a bar revision."""
    if envelope.type == TICK_EVENT:
        tick = tick_from_envelope(envelope)
        return PricePoint(envelope.id, tick.symbol, tick.ts, (tick.price,), tick.size, envelope.correlation_id)
    bar = envelope.data_as(Bar)
    if bar.revision > 0:
        return None
    path = bar_path(bar.open, bar.high, bar.low, bar.close)
    return PricePoint(envelope.id, bar.symbol, bar.bucket_start, path, bar.volume, envelope.correlation_id)


def priority(order: dict[str, Any]) -> tuple[int, Decimal, datetime]:
    """Sort key: orders without a limit first, then the best limit for their side, then the oldest."""
    limit = order["limit_price"]
    if limit is None:
        return (0, Decimal(0), order["submitted_at"])
    return (1, -limit if order["side"] == "buy" else limit, order["submitted_at"])


def _changes(order: dict[str, Any], decision: Decision) -> bool:
    return bool(decision.fills) or decision.hwm != order["hwm"] or decision.triggered != order["stop_triggered"]


def _match_one(
    conn: Connection[Any], point: PricePoint, order_id: Any, left: Decimal | None, config: FillConfig
) -> tuple[Decimal, Book]:
    """One order against one price point, in its own transaction; returns the quantity it took."""
    with conn.transaction():
        book = Book(conn, CONSUMER, point.event_id, point.correlation_id)
        order = book.lock(order_id)
        if order is None or order["status"] not in st.WORKING:
            return Decimal(0), book  # ended (canceled, expired, replaced, filled) since the candidates were read
        decision = on_path(spec_of(order), point.path, config, volume=left)
        if not _changes(order, decision) or not inbox.claim(conn, CONSUMER, f"{point.event_id}:{order_id}"):
            return Decimal(0), book
        book.apply(order, decision)
        return decision.filled_qty, book


def match(points: Sequence[PricePoint], config: FillConfig) -> MatchResult:
    """Work every resting order of each point's symbol against it, best priority first, then publish the
    trade updates of what committed (also when a later order fails and the batch is redelivered)."""
    result = MatchResult()
    try:
        with db.connection() as conn:  # one checkout for the batch; a transaction per changed order
            for point in points:
                _match_point(conn, point, config, result)
    finally:
        outbox.publish(result.staged)  # after the connection went back to the pool
    return result


def _match_point(conn: Connection[Any], point: PricePoint, config: FillConfig, result: MatchResult) -> None:
    with conn.transaction():
        rows = conn.execute(_CANDIDATES, (point.symbol, point.at)).fetchall()
    left = {"buy": point.volume, "sell": point.volume}
    for candidate in sorted((dict(r) for r in rows), key=priority):
        side = candidate["side"]
        if not _changes(candidate, on_path(spec_of(candidate), point.path, config, volume=left[side])):
            continue  # untouched by this price as last read: no lock, no transaction
        took, book = _match_one(conn, point, candidate["id"], left[side], config)
        if book.staged:
            result.orders_changed += 1
            result.staged.extend(book.staged)
        if took > 0:
            result.fills += 1
            left[side] = _volume_left(left[side], took, config)


def _volume_left(volume: Decimal | None, took: Decimal, config: FillConfig) -> Decimal | None:
    """What the next order on this side may still take from: all our orders together stay within the rate."""
    if volume is None or config.participation is None:
        return volume
    return max(volume - took / config.participation, Decimal(0))
