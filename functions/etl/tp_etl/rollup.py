"""The bar aggregator's one piece of domain logic: apply a batch of tick events exactly once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg import Connection
from tradeplane import inbox
from tradeplane.contracts.market import BAR_INTERVAL, Bar
from tradeplane.contracts.topics import MARKET_BARS
from tradeplane.envelope import Envelope

from tp_etl import bar_store
from tp_etl.bars import RollUpResult, Trade, bar_envelope, fold, latest_tick_per_symbol

Publisher = Callable[[str, Iterable[tuple[str, Envelope]]], int]


def roll_up(
    conn: Connection[Any],
    ticks: Sequence[tuple[str, Trade]],
    *,
    consumer: str,
    producer: str,
    correlation_id: str | None,
    publish: Publisher,
    flush: Callable[[], None],
    intervals: Sequence[str] = (BAR_INTERVAL,),
    grace: timedelta = timedelta(0),
) -> RollUpResult:
    """Fold the ticks not yet applied into bars and publish the bars that closed or were revised.

    Runs inside the caller's transaction: the inbox claims, the bar rows and the
    publish (flushed, so Kafka has acknowledged) all happen before it commits. If
    anything fails the transaction rolls back, the batch is redelivered and the
    same deterministic bar event ids are published again.
    """
    fresh_ids = inbox.claim_many(conn, consumer, [event_id for event_id, _ in ticks])
    seen: set[str] = set()
    fresh = []
    for event_id, tick in ticks:
        if event_id in fresh_ids and event_id not in seen:
            seen.add(event_id)
            fresh.append(tick)
    partials = fold(fresh, intervals)
    revised = bar_store.merge(conn, partials)
    closed = bar_store.close_before(conn, latest_tick_per_symbol(partials), intervals, grace)
    to_publish = closed + revised
    _publish(to_publish, producer, correlation_id, publish, flush)
    return RollUpResult(applied=len(fresh), duplicates=len(ticks) - len(fresh), published=to_publish)


def close_quiet(
    conn: Connection[Any],
    now: datetime,
    *,
    intervals: Sequence[str],
    grace: timedelta,
    producer: str,
    publish: Publisher,
    flush: Callable[[], None],
) -> list[Bar]:
    """Close (and publish) every bar whose end plus the grace window has passed by the clock.

    For symbols that went quiet: no later tick will close their last bars. Runs in the caller's
    transaction; the row update and `bar_aggregator`'s close exclude each other (`where not closed`),
    so each bar is published as closed once, by whichever got there first.
    """
    closed = bar_store.close_by_clock(conn, now, intervals, grace)
    _publish(closed, producer, None, publish, flush)
    return closed


def _publish(
    bars: Sequence[Bar], producer: str, correlation_id: str | None, publish: Publisher, flush: Callable[[], None]
) -> None:
    if bars:
        publish(
            MARKET_BARS,
            [(b.symbol, bar_envelope(b, producer=producer, correlation_id=correlation_id)) for b in bars],
        )
        flush()
