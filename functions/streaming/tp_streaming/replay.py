"""Replay: an account's trade updates after a cursor, read from the book's outbox (`trading.outbox`).

Execution writes every trade update into the outbox in the same transaction as the
change it reports, so the outbox holds each event exactly when the book holds its
effect: a durable, ordered (`seq`) record per account (`key`). Streaming only reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from tradeplane import db
from tradeplane.contracts.topics import ORDERS_EVENTS
from tradeplane.contracts.trade_updates import TRADE_UPDATE
from tradeplane.envelope import Envelope

from tp_streaming.frames import Since

PAGE: Final = 500


class UnknownCursorError(LookupError):
    """`since.event_id` is not one of this account's events."""


def start_seq(account_id: str, since: Since) -> int:
    """The outbox position the replay starts after; UnknownCursorError for an event id not of this account."""
    with db.connection() as conn:
        if since.event_id is not None:
            row = conn.execute(
                "select seq from trading.outbox where id = %s and topic = %s and key = %s",
                (since.event_id, ORDERS_EVENTS, account_id),
            ).fetchone()
            if row is None:
                raise UnknownCursorError(str(since.event_id))
            return int(row["seq"])
        # The outbox row's created_at is its commit's time, which is the event's `timestamp` to the ms.
        row = conn.execute(
            "select min(seq) filter (where created_at >= %s) as first, max(seq) as last"
            " from trading.outbox where topic = %s and key = %s",
            (since.time, ORDERS_EVENTS, account_id),
        ).fetchone()
    if row is None or row["first"] is None:
        return int(row["last"] or 0) if row else 0  # nothing since then: only what comes next
    return int(row["first"]) - 1


def pages_after(account_id: str, seq: int, page: int = PAGE) -> Iterator[list[Envelope]]:
    """The account's trade updates after `seq`, oldest first, a page at a time (read as it goes, so
    events committed during the replay are included too; the seam with live dedupes them)."""
    while True:
        with db.connection() as conn:
            rows = conn.execute(
                "select seq, envelope from trading.outbox where topic = %s and key = %s and seq > %s"
                " order by seq limit %s",
                (ORDERS_EVENTS, account_id, seq, page),
            ).fetchall()
        if not rows:
            return
        seq = int(rows[-1]["seq"])
        envelopes = [Envelope.model_validate(r["envelope"]) for r in rows]  # jsonb arrives as a dict
        yield [e for e in envelopes if e.type == TRADE_UPDATE]
