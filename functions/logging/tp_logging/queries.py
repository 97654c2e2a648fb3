"""Reading ops.logs: filtered pages with a keyset cursor, and the trace of one order's flow.

Both read the replica (they tolerate a second of lag: the aggregator itself is that late).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from psycopg import Connection, sql
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from tradeplane.auth import Principal
from tradeplane.envelope import format_timestamp
from tradeplane.problems import not_found, unprocessable

from tp_logging.lines import LEVELS

DEFAULT_WINDOW = timedelta(days=7)
MAX_TRACE_LINES = 5000
_SELECT = sql.SQL(
    "select id, ts, level, service, function_name, request_id, correlation_id, account_id, order_id,"
    " strategy_id, symbol, event_type, message, fields from ops.logs"
)

Text = Annotated[str, Field(min_length=1, max_length=200)]


class LogQuery(BaseModel):
    """The filters of GET /v1/logs (all optional; the time range defaults to the last 7 days)."""

    model_config = ConfigDict(extra="forbid")

    correlation_id: Text | None = None
    service: Text | None = None
    function: Text | None = None
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] | None = None  # this level and above
    account_id: Text | None = None
    order_id: Text | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    q: Text | None = None  # text contained in the message (case-insensitive)
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    order: Literal["asc", "desc"] = "desc"
    cursor: Annotated[str, Field(max_length=200)] | None = None

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


def encode_cursor(ts: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([format_timestamp(ts), row_id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        ts = datetime.fromisoformat(stamp)
        if ts.tzinfo is None or not isinstance(row_id, int):
            raise ValueError(cursor)
    except (ValueError, TypeError):
        raise unprocessable("cursor is not one this API returned") from None
    return ts, row_id


def _line(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if v is not None and k not in ("fields", "ts")}
    out["ts"] = format_timestamp(row["ts"])
    out["kind"] = "event" if row.get("event_type") else "log"
    if row.get("fields") is not None:
        out["fields"] = row["fields"]
    return out


def _window(since: datetime | None, until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    end = until or now + timedelta(minutes=5)  # lines stamped slightly ahead of this clock are still found
    start = since or end - DEFAULT_WINDOW
    if start >= end:
        raise unprocessable("since must be before until")
    return start, end


def search_logs(conn: Connection[Any], query: LogQuery, now: datetime | None = None) -> dict[str, Any]:
    """One page of lines matching `query`, newest first (or oldest first with order=asc).

    `next_cursor` continues after the last line; with order=asc it is always given (when the page
    has lines) so a follower can poll from it for lines that arrive later.
    """
    start, end = _window(query.since, query.until, now or datetime.now(UTC))
    where: list[sql.Composable] = [sql.SQL("ts >= {} and ts < {}").format(start, end)]
    for column, value in (
        ("correlation_id", query.correlation_id),
        ("service", query.service),
        ("function_name", query.function),
        ("account_id", query.account_id),
        ("order_id", query.order_id),
    ):
        if value is not None:
            where.append(sql.SQL("{} = {}").format(sql.Identifier(column), value))
    if query.level is not None:
        where.append(sql.SQL("level = any({})").format(list(LEVELS[LEVELS.index(query.level) :])))
    if query.q is not None:
        pattern = "%" + query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(sql.SQL("message ilike {}").format(pattern))
    ascending = query.order == "asc"
    if query.cursor is not None:
        ts, row_id = decode_cursor(query.cursor)
        where.append(sql.SQL("(ts, id) > ({}, {})" if ascending else "(ts, id) < ({}, {})").format(ts, row_id))
    direction = sql.SQL("asc" if ascending else "desc")
    stmt = sql.SQL("{} where {} order by ts {}, id {} limit {}").format(
        _SELECT, sql.SQL(" and ").join(where), direction, direction, query.limit + 1
    )
    rows = conn.execute(stmt).fetchall()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = None
    if rows and (more or ascending):
        next_cursor = encode_cursor(rows[-1]["ts"], rows[-1]["id"])
    elif ascending:
        next_cursor = query.cursor
    return {"lines": [_line(r) for r in rows], "next_cursor": next_cursor}


def order_trace(
    conn: Connection[Any], caller: Principal, order_id: str, since: datetime | None = None
) -> dict[str, Any]:
    """Every line of the order's flow in time order: lines naming the order, and all lines of their correlation ids.

    Admins see any order; a caller bound to an account sees the orders its lines name that account
    for. Anyone else, and an order with no lines, gets the same 404 (existence is not disclosed).
    """
    start = since or datetime.now(UTC) - timedelta(days=30)
    own = conn.execute(
        "select distinct correlation_id, account_id from ops.logs where order_id = %s and ts >= %s",
        (order_id, start),
    ).fetchall()
    accounts = {r["account_id"] for r in own if r["account_id"]}
    allowed = "admin" in caller.scopes or (caller.account_id is not None and caller.account_id in accounts)
    if not own or not allowed:
        raise not_found(f"no log lines for order {order_id}")
    correlations = sorted({r["correlation_id"] for r in own if r["correlation_id"]})
    rows = conn.execute(
        sql.SQL("{} where ts >= %s and (order_id = %s or correlation_id = any(%s)) order by ts, id limit %s").format(
            _SELECT
        ),
        (start, order_id, correlations, MAX_TRACE_LINES + 1),
    ).fetchall()
    return {
        "order_id": order_id,
        "correlation_ids": correlations,
        "truncated": len(rows) > MAX_TRACE_LINES,
        "lines": [_line(r) for r in rows[:MAX_TRACE_LINES]],
    }
