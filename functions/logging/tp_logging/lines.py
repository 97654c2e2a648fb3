"""One stored row per log event: JSON lines (the platform logger's) and plain text lines alike.

A JSON line gives its columns from its own fields (level, service, function_name,
function_request_id, correlation_id, the domain keys, event_type) and is kept whole in
`fields`. Any other line (Lambda's START/END/REPORT, a runtime traceback, a print) is kept
as its message, masked here because it never passed through the platform's formatter; its
request id is read from the line when Lambda wrote one, and lines of a request whose JSON
lines named a correlation id get that id too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tradeplane.secret_masking import mask_text

from tp_logging.subscription import Delivery

COLUMNS = (
    "ts",
    "level",
    "service",
    "function_name",
    "request_id",
    "correlation_id",
    "account_id",
    "order_id",
    "strategy_id",
    "symbol",
    "event_type",
    "message",
    "fields",
    "log_group",
    "log_stream",
    "cw_event_id",
)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})
_LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL", "TRACE": "DEBUG"}
# Lambda's own lines and the Python runtime's "[LEVEL]\t<time>\t<request id>\t<message>" lines.
_PLATFORM = re.compile(r"^(START|END|REPORT|INIT_START|INIT_REPORT) (?:RequestId: (\S+))?")
_RUNTIME = re.compile(r"^\[(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\](?:\t[^\t]*\t([0-9a-fA-F-]{8,})\t)?")
_FAILED = re.compile(r"Status: (timeout|error)|Task timed out|Traceback \(most recent call last\)")

Row = tuple[Any, ...]


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    rejected: int = 0  # log events that were not {"id", "timestamp", "message"}
    errors: dict[str, int] = field(default_factory=dict)  # service -> ERROR/CRITICAL lines
    lines: dict[str, int] = field(default_factory=dict)  # service -> lines


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = value if isinstance(value, str) else str(value)
    return text.replace("\x00", "") if "\x00" in text else text


def _level(value: Any) -> str:
    level = str(value).upper() if value else "INFO"
    level = _LEVEL_ALIASES.get(level, level)
    return level if level in LEVELS else "INFO"


def _clean(value: Any) -> Any:
    """A string without lone surrogates (JSON may escape one; UTF-8 cannot hold it): each becomes "?"."""
    return value.encode("utf-8", "replace").decode() if isinstance(value, str) else value


def _json_row(doc: dict[str, Any], text: str, delivery: Delivery, ts: datetime, event_id: str) -> Row:
    message = doc.get("message")
    if "\\u0000" in text:  # valid JSON, but PostgreSQL's jsonb refuses NUL characters
        text = text.replace("\\u0000", "\\ufffd")
    if "\\ud" in text.lower():  # a surrogate escape: rare, so the check is on the raw line
        doc = {key: _clean(value) for key, value in doc.items()}
        message = _clean(message)
    return (
        ts,
        _level(doc.get("level")),
        _text(doc.get("service")) or delivery.function,
        _text(doc.get("function_name")) or delivery.function,
        _text(doc.get("function_request_id")),
        _text(doc.get("correlation_id")),
        _text(doc.get("account_id")),
        _text(doc.get("order_id")),
        _text(doc.get("strategy_id")),
        _text(doc.get("symbol")),
        _text(doc.get("event_type")),
        _text(message if isinstance(message, str) else json.dumps(message, default=str)) or "",
        text,
        delivery.log_group,
        delivery.log_stream,
        event_id,
    )


def _text_row(text: str, delivery: Delivery, ts: datetime, event_id: str) -> Row:
    request_id, level = None, "INFO"
    platform = _PLATFORM.match(text)
    if platform:
        request_id = platform.group(2)
    else:
        runtime = _RUNTIME.match(text)
        if runtime:
            level, request_id = _level(runtime.group(1)), runtime.group(2)
    if _FAILED.search(text):
        level = "ERROR"
    message = mask_text(text.replace("\x00", ""))
    row = (ts, level, delivery.function, delivery.function, request_id, None, None, None, None, None, None, message)
    return (*row, None, delivery.log_group, delivery.log_stream, event_id)


def _event_row(event: Any, delivery: Delivery) -> Row | None:
    """The row of one log event, or None when it is not {"id", "timestamp": int, "message": str}."""
    message = event.get("message") if isinstance(event, dict) else None
    stamp = event.get("timestamp") if isinstance(event, dict) else None
    if not isinstance(message, str) or not isinstance(stamp, int) or isinstance(stamp, bool):
        return None
    try:
        ts = datetime.fromtimestamp(stamp / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    event_id = _text(event.get("id")) or f"{stamp}"
    text = message.rstrip("\n")
    doc = None
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
    if isinstance(doc, dict):
        return _json_row(doc, text, delivery, ts, event_id)
    return _text_row(text, delivery, ts, event_id)


def parse(delivery: Delivery) -> Parsed:
    """The delivery's rows; events without a string message or an integer timestamp are counted and skipped."""
    out = Parsed()
    service_of_group = None
    correlation_of_request: dict[str, str] = {}
    plain: list[int] = []  # indexes of text rows, given their service and correlation afterwards
    for event in delivery.events:
        row = _event_row(event, delivery)
        if row is None:
            out.rejected += 1
            continue
        if row[12] is not None:  # a JSON line (it has `fields`)
            service_of_group = service_of_group or row[2]
            if row[4] and row[5]:
                correlation_of_request[row[4]] = row[5]
        else:
            plain.append(len(out.rows))
        out.rows.append(row)
    for i in plain:  # the component the function's JSON lines named, and their request's correlation id
        row = out.rows[i]
        correlation = correlation_of_request.get(row[4]) if row[4] else None
        out.rows[i] = (*row[:2], service_of_group or row[2], row[3], row[4], correlation, *row[6:])
    for row in out.rows:
        out.lines[row[2]] = out.lines.get(row[2], 0) + 1
        if row[1] in ERROR_LEVELS:
            out.errors[row[2]] = out.errors.get(row[2], 0) + 1
    return out
