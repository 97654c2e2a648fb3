"""The platform formatter redoes two of Powertools' per-record steps faster: its lines must be Powertools' own."""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import math
import sys
from datetime import UTC
from typing import Any

import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from hypothesis import given, settings
from hypothesis import strategies as st
from tradeplane.observability import MaskingFormatter, log_json, logger


class PowertoolsSteps(MaskingFormatter):
    """The same formatter (masking included) with Powertools' own key and message extraction."""

    _extract_log_keys = LambdaPowertoolsFormatter._extract_log_keys  # type: ignore[assignment]
    _extract_log_message = LambdaPowertoolsFormatter._extract_log_message  # type: ignore[assignment]


def pair(**appended: Any) -> tuple[MaskingFormatter, MaskingFormatter]:
    fast, reference = MaskingFormatter(utc=True, use_rfc3339=True), PowertoolsSteps(utc=True, use_rfc3339=True)
    for formatter in (fast, reference):
        formatter.append_keys(**appended)
    return fast, reference


def record(msg: Any, args: tuple[Any, ...], extra: dict[str, Any], exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    logger = logging.getLogger("format-test")
    return logger.makeRecord("format-test", logging.INFO, "f.py", 7, msg, args, exc_info, "fn", extra)


json_texts = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6,
).map(json.dumps)
messages = st.one_of(
    st.text(),  # mostly plain text; also " 1", "-", "t", "nul", ...
    json_texts,  # decoded into the line by Powertools
    st.sampled_from(["NaN", " -Infinity", "\n[1, 2]", "true", "null ", "Infinity x", "{broken", "event published"]),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
# Names a record already has (or that logging refuses in `extra`) are left out: makeRecord would raise.
extra_names = st.text(min_size=1, max_size=12).filter(
    lambda n: n not in logging.makeLogRecord({}).__dict__ and n not in ("message", "asctime")
)
extras = st.dictionaries(
    st.one_of(extra_names, st.sampled_from(["exception", "exception_name", "location", "timestamp", "order_id"])),
    st.one_of(st.none(), st.integers(), st.text(max_size=10), st.lists(st.integers(), max_size=2)),
    max_size=5,
).filter(lambda e: not ({"location", "timestamp"} & e.keys()))
appended = st.dictionaries(
    st.one_of(
        st.text(min_size=1, max_size=8), st.sampled_from(["process", "levelname", "function_name", "cold_start"])
    ),
    st.one_of(st.none(), st.text(max_size=10).filter(lambda v: "%" not in v), st.just("%(process)d"), st.booleans()),
    max_size=4,
).filter(
    lambda keys: all(isinstance(v, str) or v is None or k not in {"process", "levelname"} for k, v in keys.items())
)


@settings(max_examples=300, deadline=None)
@given(msg=messages, extra=extras, keys=appended, context=appended, exc=st.booleans())
def test_lines_are_powertools_own(
    msg: Any, extra: dict[str, Any], keys: dict[str, Any], context: dict[str, Any], exc: bool
) -> None:
    fast, reference = pair(**keys)
    fast.thread_safe_append_keys(**context)  # per-thread keys: shared by both formatters
    try:
        rec = record(msg, (), extra, exc)
        assert fast.format(rec) == reference.format(rec)
    finally:
        fast.thread_safe_clear_keys()


@given(args=st.lists(st.one_of(st.integers(), st.text(max_size=5)), min_size=1, max_size=3))
def test_messages_with_arguments_are_formatted_as_powertools_does(args: list[Any]) -> None:
    fast, reference = pair()
    rec = record(" ".join(["%s"] * len(args)), tuple(args), {})
    assert fast.format(rec) == reference.format(rec)


def test_the_executors_line_is_unchanged_and_a_json_message_still_decoded() -> None:
    fast, reference = pair(service="execution", correlation_id="corr-1", function_request_id="r-1")
    rec = record("event published", (), {"event_id": "e-1", "event_type": "order.trade_update", "order_id": "o-1"})
    line = fast.format(rec)
    assert line == reference.format(rec)
    assert json.loads(line)["order_id"] == "o-1"
    assert json.loads(fast.format(record('{"a": 1}', (), {})))["message"] == {"a": 1}


def test_a_reserved_key_with_a_non_text_template_is_refused_as_powertools_does() -> None:
    fast, reference = pair(process=5)
    rec = record("m", (), {})
    with pytest.raises(ValueError, match="reserved log attributes"):
        reference.format(rec)
    with pytest.raises(ValueError, match="reserved log attributes"):
        fast.format(rec)


# What a line's fields hold: JSON values, and the types handlers put in `extra` that Powertools writes with str().
@dataclasses.dataclass
class Point:
    x: int


log_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # beyond 64 bits too: the standard library writes those lines
    st.text(),
    st.decimals(allow_nan=False),
    st.uuids(),
    st.datetimes(timezones=st.one_of(st.none(), st.just(UTC))),
    st.dates(),
    st.binary(max_size=4),
    st.builds(Point, st.integers(-5, 5)),
    st.frozensets(st.integers(0, 3), max_size=2),
)
log_values = st.recursive(
    log_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner),
        st.dictionaries(st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none()), inner, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(line=st.dictionaries(st.text(max_size=8), log_values, max_size=6))
def test_log_json_writes_powertools_default_text(line: dict[str, Any]) -> None:
    assert log_json(line) == LambdaPowertoolsFormatter().json_serializer(line)


def test_log_json_where_it_differs_from_the_standard_library() -> None:
    class Side(enum.Enum):
        BUY = "buy"

    text = log_json({"nan": math.nan, "tiny": 1e-7, "side": Side.BUY, "x": 0.5})
    assert json.loads(text) == {"nan": None, "tiny": 1e-7, "side": "buy", "x": 0.5}


def test_the_platform_logger_writes_lines_with_log_json() -> None:
    assert logger.registered_formatter.json_serializer is log_json
