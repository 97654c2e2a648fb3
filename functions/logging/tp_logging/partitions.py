"""Day partitions of `ops.logs`: named `logs_pYYYYMMDD`, covering [day 00:00 UTC, next day 00:00 UTC)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from psycopg import Connection, errors, sql

SCHEMA, PARENT = "ops", "logs"
_NAME = re.compile(r"^logs_p(\d{8})$")
_known: set[date] = set()  # partitions this container has seen exist (cleared when retention drops one)


def name_of(day: date) -> str:
    return f"logs_p{day:%Y%m%d}"


def day_of(name: str) -> date | None:
    match = _NAME.match(name)
    return datetime.strptime(match.group(1), "%Y%m%d").date() if match else None


def existing(conn: Connection[Any]) -> dict[date, str]:
    """The day partitions of ops.logs that exist, by day (other children, if any, are not ours)."""
    rows = conn.execute(
        "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
        "where i.inhparent = 'ops.logs'::regclass"
    ).fetchall()
    out = {}
    for row in rows:
        name = row["relname"] if isinstance(row, dict) else row[0]
        day = day_of(name)
        if day is not None:
            out[day] = name
    return out


def ensure(conn: Connection[Any], days: Iterable[date]) -> list[date]:
    """Create the missing partitions for `days` (each in a savepoint: a concurrent creator may win); returns new."""
    wanted = sorted(set(days) - _known)
    if not wanted:
        return []
    present = existing(conn)
    created = []
    for day in wanted:
        if day not in present:
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            stmt = sql.SQL("create table if not exists {}.{} partition of {}.{} for values from ({}) to ({})").format(
                sql.Identifier(SCHEMA),
                sql.Identifier(name_of(day)),
                sql.Identifier(SCHEMA),
                sql.Identifier(PARENT),
                sql.Literal(start),
                sql.Literal(start + timedelta(days=1)),
            )
            try:
                with conn.transaction():
                    conn.execute(stmt)
                created.append(day)
            except (errors.DuplicateTable, errors.UniqueViolation):
                pass  # another container created it between our look and our create
        _known.add(day)
    return created


def forget(days: Iterable[date]) -> None:
    _known.difference_update(days)
