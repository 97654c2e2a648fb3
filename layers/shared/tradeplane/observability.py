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
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

__all__ = [
    "correlation_id",
    "correlation_paths",
    "get_tracer",
    "instrument",
    "logger",
    "metrics",
    "set_correlation_id",
    "tracing_enabled",
]

# Most invocations publish only the ColdStart metric (if any); that is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

logger = Logger(utc=True, use_rfc3339=True)
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
    ColdStart metric). When the event has no value at `correlation_id_path`
    the Lambda request id is used.
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
        with_logger = logger.inject_lambda_context(
            with_tracer, correlation_id_path=correlation_id_path, clear_state=True
        )
        return functools.wraps(fn)(with_logger)  # type: ignore[return-value]

    if handler is not None:
        return decorate(handler)
    return decorate
