"""Decoding CloudWatch Logs subscription deliveries, and turning their events into rows."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tp_logging.lines import COLUMNS, parse
from tp_logging.subscription import Delivery, MalformedPayloadError, decode, payload_of

# The sample CloudWatch Logs event of AWS's documentation and Lambda console (two "[ERROR]" lines).
AWS_SAMPLE = (
    "H4sIAAAAAAAAAHWPwQqCQBCGX0Xm7EFtK+smZBEUgXoLCdMhFtKV3akI8d0bLYmibvPPN3wz00CJxmQnTO41whwWQRIctmEcB6sQbFC3CjW3XW8k"
    "xpOpP+OC22d1Wml1qZkQGtoMsScxaczKN3plG8zlaHIta5KqWsozoTYw3/djzwhpLwivWFGHGpAFe7DL68JlBUk+l7KSN7tCOEJ4M3/qOI49vMHj"
    "+zCKdlFqLaU2ZHV2a4Ct/an0/ivdX8oYc1UVX860fQDQiMdxRQEAAA=="
)
COL = {name: i for i, name in enumerate(COLUMNS)}


def encode(doc: Any) -> str:
    return base64.b64encode(gzip.compress(json.dumps(doc).encode())).decode()


def data_message(events: list[Any], group: str = "/aws/lambda/orders_submit") -> dict[str, Any]:
    return {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": group,
        "logStream": "2026/11/29/[$LATEST]abc",
        "subscriptionFilters": ["log_aggregator-subscription"],
        "logEvents": events,
    }


def test_the_documented_aws_sample_decodes() -> None:
    delivery = decode(payload_of({"awslogs": {"data": AWS_SAMPLE}}))
    assert (delivery.log_group, delivery.log_stream, delivery.control) == ("testLogGroup", "testLogStream", False)
    assert [e["id"] for e in delivery.events] == ["eventId1", "eventId2"]
    parsed = parse(delivery)
    assert [(r[COL["level"]], r[COL["message"]], r[COL["fields"]]) for r in parsed.rows] == [
        ("ERROR", "[ERROR] First test message", None),
        ("ERROR", "[ERROR] Second test message", None),
    ]
    assert parsed.errors == {"testLogGroup": 2} and parsed.rows[0][COL["ts"]].year == 2015


def test_a_control_message_is_skipped() -> None:
    control = {
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [
            {"id": "", "timestamp": 1432826855000, "message": "CWL CONTROL MESSAGE: Checking health of destination"}
        ],
    }
    delivery = decode(encode(control))
    assert delivery.control and delivery.events == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("not base64 !!", "not base64"),
        (base64.b64encode(b"plain bytes, not gzip").decode(), "not gzip"),
        (base64.b64encode(gzip.compress(b"{not json")).decode(), "not a JSON document"),
        (encode([1, 2]), "not a JSON object"),
        (encode({"messageType": "SOMETHING"}), "unexpected messageType"),
        (encode({**data_message([]), "logEvents": "x"}), "logEvents is not a list"),
    ],
)
def test_malformed_payloads_say_why(data: str, reason: str) -> None:
    with pytest.raises(MalformedPayloadError, match=reason):
        decode(data)


def test_a_zip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from tp_logging import subscription

    monkeypatch.setattr(subscription, "MAX_DECOMPRESSED_BYTES", 1000)
    with pytest.raises(MalformedPayloadError, match="inflates beyond"):
        decode(base64.b64encode(gzip.compress(b" " * 5000)).decode())


def test_event_without_awslogs_data() -> None:
    with pytest.raises(MalformedPayloadError):
        payload_of({"Records": []})


def _delivery(messages: list[Any]) -> Delivery:
    events = [{"id": str(i), "timestamp": 1_795_000_000_000 + i, "message": m} for i, m in enumerate(messages)]
    return Delivery("/aws/lambda/orders_submit", "s", events)


def test_json_lines_give_their_columns_and_plain_lines_are_kept() -> None:
    line = {
        "level": "WARNING",
        "message": "order accepted",
        "service": "core",
        "function_name": "orders_submit",
        "function_request_id": "req-1",
        "correlation_id": "flow-1",
        "order_id": "o-1",
        "account_id": "a-1",
        "symbol": "AAPL",
        "event_type": "order.submitted",
    }
    parsed = parse(
        _delivery(
            [
                "START RequestId: req-1 Version: $LATEST",
                json.dumps(line) + "\n",
                "print from a handler",
                "REPORT RequestId: req-1\tDuration: 3.00 ms\tStatus: timeout",
            ]
        )
    )
    start, js, plain, report = parsed.rows
    assert [js[COL[c]] for c in ("level", "service", "request_id", "correlation_id", "order_id", "event_type")] == [
        "WARNING", "core", "req-1", "flow-1", "o-1", "order.submitted"
    ]  # fmt: skip
    # Lambda's lines belong to the request, so they carry its correlation id and the function's component.
    assert (start[COL["request_id"]], start[COL["correlation_id"]], start[COL["service"]]) == (
        "req-1",
        "flow-1",
        "core",
    )
    assert plain[COL["message"]] == "print from a handler" and plain[COL["request_id"]] is None
    assert report[COL["level"]] == "ERROR"  # a timeout is an error
    assert parsed.errors == {"core": 1} and parsed.lines == {"core": 4}


WEIRD_JSON = '{"level": 7, "message": {"nested": true}, "x": "\\u0000"}'


def test_garbage_events_are_counted_and_the_rest_kept() -> None:
    events: list[Any] = [
        {"id": "1", "timestamp": 1_795_000_000_000, "message": '{"level": "INFO", "message": "ok"}'},
        "not an object",
        {"id": "2", "timestamp": "yesterday", "message": "x"},
        {"id": "3", "timestamp": 1_795_000_000_001, "message": None},
        {"id": "4", "timestamp": 10**20, "message": "far future"},
        {"id": "5", "timestamp": 1_795_000_000_002, "message": '{"broken json'},
        {"id": "6", "timestamp": 1_795_000_000_003, "message": WEIRD_JSON},
        {"id": "7", "timestamp": 1_795_000_000_004, "message": "nul\x00byte password=hunter2"},
    ]  # fmt: skip
    parsed = parse(Delivery("/aws/lambda/f", "s", events))
    assert parsed.rejected == 4
    messages = [r[COL["message"]] for r in parsed.rows]
    assert messages == ["ok", '{"broken json', '{"nested": true}', "nulbyte password=***"]
    weird = parsed.rows[2]
    assert weird[COL["level"]] == "INFO" and "\\u0000" not in weird[COL["fields"]]


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_events = st.lists(
    st.one_of(
        _json_values,
        st.fixed_dictionaries(
            {"id": st.text(max_size=10), "timestamp": st.integers(-(10**15), 10**15) | _json_values},
            optional={"message": st.text(max_size=60) | _json_values.map(json.dumps) | _json_values},
        ),
    ),
    max_size=8,
)


@given(_events)
def test_any_batch_of_events_parses_into_rows_or_counted_rejections(events: list[Any]) -> None:
    parsed = parse(Delivery("/aws/lambda/f", "s", events))
    assert len(parsed.rows) + parsed.rejected == len(events)
    for row in parsed.rows:
        assert len(row) == len(COLUMNS) and isinstance(row[COL["message"]], str)
        assert "\x00" not in row[COL["message"]] and row[COL["level"]] in (
            "DEBUG",
            "INFO",
            "WARNING",
            "ERROR",
            "CRITICAL",
        )
