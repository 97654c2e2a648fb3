"""Exactly-once effects on top of at-least-once delivery: the applied-event inbox (ops.inbox).

    with transaction() as conn:
        if claim(conn, "bar_aggregator", envelope.id):
            ...apply the effect with the same conn...

`claim` inserts (consumer, event_id); when the row already exists it returns
False and the caller skips the effect. Because the claim and the effect commit
in one transaction, a crash between them loses neither and repeats neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Connection

__all__ = ["INBOX_TABLE", "claim", "claim_many", "is_applied"]

INBOX_TABLE = "ops.inbox"


def claim(conn: Connection[Any], consumer: str, event_id: str) -> bool:
    """Record that `consumer` applies `event_id` now; True when it is new, False when already applied."""
    if not consumer or not event_id:
        raise ValueError("consumer and event_id must not be empty")
    cur = conn.execute(
        "insert into ops.inbox (consumer, event_id) values (%s, %s) on conflict do nothing returning 1",
        (consumer, event_id),
    )
    return cur.fetchone() is not None


def claim_many(conn: Connection[Any], consumer: str, event_ids: Sequence[str]) -> set[str]:
    """`claim` for a whole batch in one statement; returns the new ids (duplicates within the batch count once)."""
    if not consumer or any(not e for e in event_ids):
        raise ValueError("consumer and event ids must not be empty")
    if not event_ids:
        return set()
    rows = conn.execute(
        "insert into ops.inbox (consumer, event_id) select %s, e from unnest(%b::text[]) as e "
        "on conflict do nothing returning event_id",
        (consumer, list(dict.fromkeys(event_ids))),
    ).fetchall()
    return {r["event_id"] if isinstance(r, dict) else r[0] for r in rows}


def is_applied(conn: Connection[Any], consumer: str, event_id: str) -> bool:
    """Whether `consumer` has already applied `event_id` (read-only check)."""
    cur = conn.execute(
        "select 1 from ops.inbox where consumer = %s and event_id = %s",
        (consumer, event_id),
    )
    return cur.fetchone() is not None
