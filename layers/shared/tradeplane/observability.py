"""Logging, metrics and tracing for every function (AWS Lambda Powertools).

`logger`, `metrics` and `tracer` are module-level so each container builds them
once; their service name and metrics namespace come from POWERTOOLS_SERVICE_NAME
and POWERTOOLS_METRICS_NAMESPACE (set by the manifest). Tracing is on only inside
real Lambda (LAMBDA_TASK_ROOT) without POWERTOOLS_TRACE_DISABLED, and the tracer
is built on first use: building it imports the X-Ray SDK and botocore (~1 s of a
cold start here), which a function that does not trace never needs.

Wrap every handler with `instrument`:

    @instrument
    def handler(event, context): ...

    @instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    def handler(event, context): ...

Every line carries timestamp (UTC, RFC 3339), level, service (the manifest component),
function_name, cold_start, function_request_id and correlation_id, plus the domain keys
(account_id, order_id, strategy_id, symbol) a handler appends with `log_keys` or
`bind_event`. Secrets are masked before a line is written (`tradeplane.secret_masking`).
An HTTP caller's `X-Correlation-Id` (else the request id) becomes the correlation id and is
returned in the response's `X-Correlation-Id` header (docs/logging.md).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

import orjson
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.formatter import RESERVED_LOG_ATTRS, LambdaPowertoolsFormatter

from tradeplane.secret_masking import mask_record, may_hold_secret

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

__all__ = [
    "CORRELATION_HEADER",
    "DOMAIN_KEYS",
    "bind_event",
    "correlation_id",
    "correlation_paths",
    "domain_keys",
    "get_tracer",
    "instrument",
    "log_json",
    "log_keys",
    "logger",
    "metrics",
    "set_correlation_id",
    "tracing_enabled",
]

# Most invocations publish only the ColdStart metric (if any); that is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


_RESERVED = frozenset(RESERVED_LOG_ATTRS)
# A str json.loads could decode starts (after whitespace) with one of these: an object, array, string, number,
# true/false/null, NaN or (-)Infinity.
_JSON_STARTS = frozenset('{["-0123456789tfnNI')


# Powertools' default serializer (compact `json.dumps`, `default=str`, not ASCII-escaped), for what orjson refuses.
_stdlib_log_json = functools.partial(json.dumps, default=str, separators=(",", ":"), ensure_ascii=False)
# Datetimes and dataclasses go to `default=str`, as Powertools' serializer sends them; non-str keys become text.
_LOG_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def log_json(log: Mapping[str, Any]) -> str:
    """A log line's text as Powertools' default serializer writes it, in C (~10 us less a line). Where the two
    differ, orjson's is the better JSON: a non-finite float is null (not NaN), a plain Enum its value (not
    `Cls.NAME`), a negative exponent 1e-7 (not 1e-07). An int beyond 64 bits or a lone surrogate: the standard
    library writes the line."""
    try:
        return orjson.dumps(log, default=str, option=_LOG_JSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return _stdlib_log_json(log)


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter with secrets masked in the finished record, just before serialising, and its
    lines written by `log_json`.

    Two of Powertools' (3.x) per-record steps are redone here with the same result, because every line paid
    for them (~15 of the ~40 us the formatter spends on a short line; tests/unit/shared/test_shared_log_format.py
    compares the lines with Powertools' own):
    - the record's ~25 attributes are told from `extra` keys by a set lookup, not a scan of a 24-name tuple each;
    - a message that cannot be JSON is not handed to json.loads (which raised and caught for every plain line).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "json_serializer" not in kwargs and not self.json_indent:  # not Powertools' indented dev lines
            self.json_serializer = log_json

    def _extract_log_keys(self, log_record: logging.LogRecord) -> dict[str, Any]:
        record_dict = log_record.__dict__.copy()
        record_dict["asctime"] = self.formatTime(record=log_record)
        extras = {k: v for k, v in record_dict.items() if k not in _RESERVED}
        formatted_log: dict[str, Any] = {}
        for keys in (self.log_format, self.thread_safe_get_current_keys()):
            for key, value in keys.items():
                if value and key in _RESERVED:
                    if not isinstance(value, str):
                        return super()._extract_log_keys(log_record)  # raises Powertools' own error
                    formatted_log[key] = value % record_dict
                else:
                    formatted_log[key] = value
        formatted_log.update(**extras)
        return formatted_log

    def _extract_log_message(self, log_record: logging.LogRecord) -> Any:
        message = log_record.msg
        if isinstance(message, str) and not log_record.args and message.lstrip()[:1] not in _JSON_STARTS:
            return message
        return super()._extract_log_message(log_record)

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        text = self.json_serializer(log)
        # Most lines hold nothing secret-looking: one pass of substring checks, then written as they are.
        return self.json_serializer(mask_record(log)) if may_hold_secret(text) else text


logger = Logger(logger_formatter=MaskingFormatter(utc=True, use_rfc3339=True))
metrics = Metrics()
_tracer: Tracer | None = None
_tracer_lock = threading.Lock()


def tracing_enabled() -> bool:
    """As Powertools decides: inside Lambda, unless POWERTOOLS_TRACE_DISABLED is truthy."""
    disabled = os.getenv("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on")
    return bool(os.getenv("LAMBDA_TASK_ROOT")) and not disabled and not os.getenv("AWS_SAM_LOCAL")


def get_tracer() -> Tracer:
    """The container's tracer, built (with the X-Ray SDK) on first use."""
    global _tracer
    if _tracer is None:
        with _tracer_lock:
            if _tracer is None:
                from aws_lambda_powertools import Tracer

                _tracer = Tracer()
    return _tracer


def __getattr__(name: str) -> Any:
    # `from tradeplane.observability import tracer` keeps working; it builds the tracer then.
    if name == "tracer":
        return get_tracer()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


Handler = TypeVar("Handler", bound=Callable[..., Any])

# Used only when POWERTOOLS_METRICS_NAMESPACE is unset (the manifest always sets it):
# without a namespace Powertools would fail the invocation when it flushes metrics.
DEFAULT_METRICS_NAMESPACE = "Tradeplane"


def correlation_id() -> str | None:
    """The correlation id of the invocation (or record) being handled, if any."""
    value = logger.get_correlation_id()
    return value if isinstance(value, str) else None


def set_correlation_id(value: str | None) -> None:
    """Set the correlation id for subsequent log lines (e.g. per Kafka record)."""
    logger.set_correlation_id(value)


CORRELATION_HEADER = "X-Correlation-Id"
# What a caller may pass as a correlation id: printable, no spaces, bounded (it lands in every line).
_CALLER_CORRELATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}$")
DOMAIN_KEYS = ("account_id", "order_id", "strategy_id", "symbol")


def domain_keys(data: Mapping[str, Any] | None) -> dict[str, str]:
    """The domain keys found in an event's data (an Alpaca trade update nests its order under "order")."""
    if not data:
        return {}
    found = {key: data.get(key) for key in DOMAIN_KEYS}
    order = data.get("order")
    if isinstance(order, Mapping):
        found["order_id"] = found["order_id"] or order.get("id")
        found["account_id"] = found["account_id"] or order.get("account_id")
        found["symbol"] = found["symbol"] or order.get("symbol")
    return {key: str(value) for key, value in found.items() if value not in (None, "")}


def log_keys(
    *,
    account_id: object = None,
    order_id: object = None,
    strategy_id: object = None,
    symbol: object = None,
) -> None:
    """Append the domain keys that are known to every later line of this invocation (None: left as is)."""
    keys = {"account_id": account_id, "order_id": order_id, "strategy_id": strategy_id, "symbol": symbol}
    logger.append_keys(**{k: str(v) for k, v in keys.items() if v is not None})


def bind_event(envelope: Any) -> None:
    """Per consumed event: its correlation id and domain keys on every line until the next `bind_event`."""
    logger.remove_keys(list(DOMAIN_KEYS))
    if getattr(envelope, "correlation_id", None):
        set_correlation_id(envelope.correlation_id)
    logger.append_keys(**domain_keys(getattr(envelope, "data", None)))


def _header(event: Mapping[str, Any], name: str) -> str | None:
    headers = event.get("headers")
    if not isinstance(headers, Mapping):
        return None
    value = headers.get(name.lower())  # HTTP API payload 2.0 lowers header names
    if value is None:
        value = next((v for k, v in headers.items() if str(k).lower() == name.lower()), None)
    return value if isinstance(value, str) else None


def _path_value(event: Any, path: str) -> Any:
    if re.fullmatch(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*", path):
        for part in path.split("."):
            event = event.get(part) if isinstance(event, Mapping) else None
        return event
    from aws_lambda_powertools.utilities import jmespath_utils

    return jmespath_utils.query(envelope=path, data=event)


def _with_request_correlation_id(handler: Handler, path: str) -> Handler:
    """The caller's X-Correlation-Id (when well formed), else the value at `path`; echoed in the response."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        value = _header(event, CORRELATION_HEADER) if isinstance(event, Mapping) else None
        if value is None or not _CALLER_CORRELATION.match(value):
            found = _path_value(event, path)
            value = found if isinstance(found, str) and found else None
        set_correlation_id(value)
        result = handler(event, context, *args, **kwargs)
        current = correlation_id()
        if current and isinstance(result, dict) and "statusCode" in result:
            result["headers"] = {**(result.get("headers") or {}), CORRELATION_HEADER: current}
        return result

    return wrapper  # type: ignore[return-value]


def _with_fallback_correlation_id(handler: Handler) -> Handler:
    """Innermost layer: default the correlation id to the request id; log uncaught errors as JSON."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        if correlation_id() is None:
            request_id = getattr(context, "aws_request_id", None)
            if isinstance(request_id, str) and request_id:
                set_correlation_id(request_id)
        try:
            return handler(event, context, *args, **kwargs)
        except Exception:
            logger.exception("unhandled error in handler")
            raise

    return wrapper  # type: ignore[return-value]


@overload
def instrument(handler: Handler) -> Handler: ...


@overload
def instrument(
    handler: None = None,
    *,
    correlation_id_path: str | None = None,
    capture_response: bool = False,
) -> Callable[[Handler], Handler]: ...


def instrument(
    handler: Handler | None = None,
    *,
    correlation_id_path: str | None = None,
    capture_response: bool = False,
) -> Handler | Callable[[Handler], Handler]:
    """Decorate a Lambda handler with logger context, tracing and metrics.

    Order, outermost first: logger (so every line below carries the Lambda
    context and correlation id, state cleared per invocation), tracer (one
    subsegment for the handler; responses are not captured by default since
    they can hold personal data), metrics (flushed in a finally block, plus a
    ColdStart metric). The correlation id is the caller's `X-Correlation-Id`
    header, else the value at `correlation_id_path`, else the Lambda request id;
    an HTTP answer carries it back in its `X-Correlation-Id` header.
    """

    def decorate(fn: Handler) -> Handler:
        if not metrics.namespace:
            metrics.namespace = DEFAULT_METRICS_NAMESPACE
        inner = _with_fallback_correlation_id(fn)
        with_metrics = metrics.log_metrics(inner, capture_cold_start_metric=True)
        with_tracer = (
            get_tracer().capture_lambda_handler(with_metrics, capture_response=capture_response)
            if tracing_enabled()
            else with_metrics
        )
        with_correlation = (
            _with_request_correlation_id(with_tracer, correlation_id_path) if correlation_id_path else with_tracer
        )
        with_logger = logger.inject_lambda_context(with_correlation, clear_state=True)
        return functools.wraps(fn)(with_logger)  # type: ignore[return-value]

    if handler is not None:
        return decorate(handler)
    return decorate
