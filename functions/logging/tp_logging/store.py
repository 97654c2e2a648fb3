"""Bulk insert of parsed rows with COPY, one retried delivery stored once."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from psycopg import Connection, errors, sql

from tp_logging.lines import COLUMNS, Row
from tp_logging.subscription import Delivery

FIELDS = COLUMNS.index("fields")
_COPY = sql.SQL("copy ops.logs ({}) from stdin").format(sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))


def delivery_key(delivery: Delivery) -> str:
    """Identifies a delivery across retries: its group, stream and first and last event ids."""
    first = delivery.events[0].get("id") if delivery.events and isinstance(delivery.events[0], dict) else ""
    last = delivery.events[-1].get("id") if delivery.events and isinstance(delivery.events[-1], dict) else ""
    raw = f"{delivery.log_group}\n{delivery.log_stream}\n{first}\n{last}\n{len(delivery.events)}"
    return hashlib.sha256(raw.encode()).hexdigest()


def claim(conn: Connection[Any], key: str, lines: int) -> bool:
    """Record the delivery; False when it was stored before (a retried invocation)."""
    cur = conn.execute(
        "insert into ops.log_deliveries (delivery_key, lines) values (%s, %s) on conflict do nothing returning 1",
        (key, lines),
    )
    return cur.fetchone() is not None


def copy_rows(conn: Connection[Any], rows: Sequence[Row]) -> None:
    with conn.cursor().copy(_COPY) as copy:
        for row in rows:
            copy.write_row(row)


def store_rows(conn: Connection[Any], rows: Sequence[Row]) -> tuple[int, int]:
    """COPY the rows (in a savepoint); if PostgreSQL refuses one, store the others one by one.

    Returns (stored, refused). A row whose `fields` the server will not take as jsonb (a lone
    surrogate escape, say) is stored without them; one it refuses even so costs that line only,
    never its neighbours.
    """
    try:
        with conn.transaction():
            copy_rows(conn, rows)
        return len(rows), 0
    except (errors.DataError, UnicodeEncodeError):
        pass
    stored = 0
    for row in rows:
        for attempt in (row, (*row[:FIELDS], None, *row[FIELDS + 1 :])):
            try:
                with conn.transaction():
                    copy_rows(conn, [attempt])
                stored += 1
                break
            except (errors.DataError, UnicodeEncodeError):
                continue
    return stored, len(rows) - stored
