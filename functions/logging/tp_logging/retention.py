"""Retention: drop whole day partitions past the configured age; create the next days' ahead of time.

Dropping a partition is instant and leaves no dead rows (a DELETE would bloat the table and the
WAL); creating tomorrow's today keeps the aggregator from taking the parent's lock for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from psycopg import Connection, sql

from tp_logging import partitions


@dataclass(frozen=True)
class RetentionResult:
    dropped: list[date]
    created: list[date]
    deliveries_pruned: int


def apply_retention(
    conn: Connection[Any], keep_days: int, ahead_days: int = 2, now: datetime | None = None
) -> RetentionResult:
    """Drop partitions whose whole day is older than `keep_days` days; create today's and `ahead_days` more."""
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    oldest_kept = today - timedelta(days=keep_days - 1)
    dropped = []
    for day, name in sorted(partitions.existing(conn).items()):
        if day < oldest_kept:
            conn.execute(sql.SQL("drop table {}.{}").format(sql.Identifier(partitions.SCHEMA), sql.Identifier(name)))
            dropped.append(day)
    partitions.forget(dropped)
    created = partitions.ensure(conn, [today + timedelta(days=i) for i in range(ahead_days + 1)])
    cutoff = datetime(oldest_kept.year, oldest_kept.month, oldest_kept.day, tzinfo=UTC)
    pruned = conn.execute("delete from ops.log_deliveries where stored_at < %s", (cutoff,)).rowcount
    return RetentionResult(dropped, created, pruned)
