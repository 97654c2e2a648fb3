"""Exactly-once effects on top of at-least-once delivery: the applied-event inbox (ops.inbox).

    with transaction() as conn:
        if claim(conn, "bar_aggregator", envelope.id):
            ...apply the effect with the same conn...

`claim` inserts (consumer, event_id); when the row already exists it returns
False and the caller skips the effect. Because the claim and the effect commit
in one transaction, a crash between them loses neither and repeats neither.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection

__all__ = ["INBOX_TABLE", "claim", "is_applied"]

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


def is_applied(conn: Connection[Any], consumer: str, event_id: str) -> bool:
    """Whether `consumer` has already applied `event_id` (read-only check)."""
    cur = conn.execute(
        "select 1 from ops.inbox where consumer = %s and event_id = %s",
        (consumer, event_id),
    )
    return cur.fetchone() is not None
