"""`instrument` on a fake Lambda context: JSON logs with context and correlation id, cold start metric."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from tradeplane import observability
from tradeplane.observability import correlation_id, correlation_paths, instrument, logger

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


class FakeContext:
    function_name = "orders_submit"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:orders_submit"
    aws_request_id = "req-42"

    def get_remaining_time_in_millis(self) -> int:
        return 3000


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Capture the logger's JSON lines (it writes to the stdout it saw at import)."""
    buf = io.StringIO()
    handler = logger.registered_handler
    old = handler.setStream(buf)  # type: ignore[attr-defined]
    monkeypatch.setattr(observability.metrics, "namespace", "TradeplaneTest")
    lines: list[dict[str, Any]] = []
    yield lines
    handler.setStream(old)  # type: ignore[attr-defined]


def parsed(buf_owner: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buf_owner.getvalue().splitlines() if line.strip()]


def captured() -> list[dict[str, Any]]:
    return parsed(logger.registered_handler.stream)  # type: ignore[attr-defined]


def test_api_gateway_correlation_id(log_lines: list[dict[str, Any]]) -> None:
    @instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.info("accepted order", extra={"order_id": "o-1"})
        return {"statusCode": 200, "correlation": correlation_id()}

    result = handler({"requestContext": {"requestId": "api-req-7"}}, FakeContext())
    assert result == {"statusCode": 200, "correlation": "api-req-7", "headers": {"X-Correlation-Id": "api-req-7"}}
    [line] = [entry for entry in captured() if entry.get("message") == "accepted order"]
    assert line["level"] == "INFO"
    assert line["correlation_id"] == "api-req-7"
    assert line["function_name"] == "orders_submit" and line["function_request_id"] == "req-42"
    assert line["order_id"] == "o-1"
    assert line["timestamp"].endswith(("Z", "+00:00"))  # UTC


def test_bare_decorator_falls_back_to_request_id(log_lines: list[dict[str, Any]]) -> None:
    @instrument
    def handler(event: dict[str, Any], context: Any) -> str | None:
        logger.info("working")
        return correlation_id()

    assert handler({}, FakeContext()) == "req-42"
    assert handler.__name__ == "handler"
    assert [e["correlation_id"] for e in captured() if e.get("message") == "working"] == ["req-42"]


def test_state_cleared_between_invocations(log_lines: list[dict[str, Any]]) -> None:
    @instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    def handler(event: dict[str, Any], context: Any) -> str | None:
        if event.get("append"):
            logger.append_keys(leaky="yes")
        logger.info("call")
        return correlation_id()

    assert handler({"append": True, "requestContext": {"requestId": "a"}}, FakeContext()) == "a"
    assert handler({"requestContext": {"requestId": "b"}}, FakeContext()) == "b"
    calls = [e for e in captured() if e.get("message") == "call"]
    assert calls[0].get("leaky") == "yes" and "leaky" not in calls[1]


def test_uncaught_error_logged_with_correlation_id_and_reraised(log_lines: list[dict[str, Any]]) -> None:
    @instrument
    def handler(event: dict[str, Any], context: Any) -> None:
        raise ValueError("kaput")

    with pytest.raises(ValueError, match="kaput"):
        handler({}, FakeContext())
    [err] = [e for e in captured() if e.get("level") == "ERROR"]
    assert err["correlation_id"] == "req-42" and err["exception_name"] == "ValueError"


def test_cold_start_metric_emitted(log_lines: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    import aws_lambda_powertools.metrics.provider.cold_start as cold_start

    cold_start.is_cold_start = True

    @instrument
    def handler(event: dict[str, Any], context: Any) -> str:
        return "ok"

    assert handler({}, FakeContext()) == "ok"
    out = capsys.readouterr().out
    emf = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]
    assert any("ColdStart" in e for e in emf)


def test_set_correlation_id_for_records(log_lines: list[dict[str, Any]]) -> None:
    observability.set_correlation_id("rec-1")
    assert correlation_id() == "rec-1"
    observability.set_correlation_id(None)
    assert correlation_id() is None


def test_tracer_disabled_outside_lambda() -> None:
    assert observability.tracer.disabled is True  # type: ignore[attr-defined]


def test_metrics_namespace_defaults_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observability.metrics, "namespace", None)

    @instrument
    def handler(event: dict[str, Any], context: Any) -> str:
        return "ok"

    assert observability.metrics.namespace == observability.DEFAULT_METRICS_NAMESPACE


def test_tracer_is_built_only_when_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    # A fresh interpreter: decorating a handler outside Lambda must not import the X-Ray SDK.
    code = (
        "import sys\n"
        "from tradeplane.observability import instrument\n"
        "instrument(lambda e, c: None)\n"
        "assert 'aws_xray_sdk.core' not in sys.modules, 'X-Ray SDK imported without tracing'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    assert observability.tracing_enabled()
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert not observability.tracing_enabled()


# --------------------------------------------------------------------------- conventions (issue 13)


def _http_handler() -> Any:
    @instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        observability.log_keys(account_id="acct-1", order_id=None, symbol="AAPL")
        logger.info("placing")
        return {"statusCode": 201, "headers": {"Content-Type": "application/json"}}

    return handler


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-correlation-id": "flow-123"}, "flow-123"),
        ({"X-Correlation-Id": "flow-abc:7"}, "flow-abc:7"),
        ({"x-correlation-id": "has spaces in it"}, "api-req-9"),  # not well formed: the request id
        ({"x-correlation-id": "x" * 129}, "api-req-9"),
        ({}, "api-req-9"),
    ],
)
def test_correlation_id_from_caller_header_or_request_id(
    log_lines: list[dict[str, Any]], headers: dict[str, str], expected: str
) -> None:
    result = _http_handler()({"headers": headers, "requestContext": {"requestId": "api-req-9"}}, FakeContext())
    assert result["headers"] == {"Content-Type": "application/json", "X-Correlation-Id": expected}
    [line] = [e for e in captured() if e.get("message") == "placing"]
    assert line["correlation_id"] == expected


def test_every_line_has_the_conventional_fields(log_lines: list[dict[str, Any]]) -> None:
    _http_handler()({"requestContext": {"requestId": "r"}}, FakeContext())
    [line] = [e for e in captured() if e.get("message") == "placing"]
    for key in ("timestamp", "level", "service", "function_name", "cold_start", "function_request_id"):
        assert key in line, key
    assert line["account_id"] == "acct-1" and line["symbol"] == "AAPL" and "order_id" not in line


def test_bind_event_sets_correlation_and_domain_keys_per_record(log_lines: list[dict[str, Any]]) -> None:
    from tradeplane.envelope import Envelope

    first = Envelope.new("order.submitted", {"order_id": "o-1", "account_id": "a-1"}, producer="t", correlation_id="c1")
    update = Envelope.new("trade.update", {"order": {"id": "o-2", "symbol": "MSFT"}}, producer="t", correlation_id="c2")

    @instrument
    def handler(event: dict[str, Any], context: Any) -> None:
        for env in (first, update):
            observability.bind_event(env)
            logger.info("applied")

    handler({}, FakeContext())
    lines = [e for e in captured() if e.get("message") == "applied"]
    assert [(e["correlation_id"], e.get("order_id"), e.get("account_id"), e.get("symbol")) for e in lines] == [
        ("c1", "o-1", "a-1", None),
        ("c2", "o-2", None, "MSFT"),
    ]


def test_lines_are_masked_before_they_are_written(log_lines: list[dict[str, Any]]) -> None:
    jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"
    logger.info(f"calling with Bearer {jwt}", extra={"password": "hunter2", "dsn": "postgresql://tp:pw1@db/x"})
    try:
        raise RuntimeError("connect failed: password=pw2 host=db")
    except RuntimeError:
        logger.exception("db down")
    out = logger.registered_handler.stream.getvalue()  # type: ignore[attr-defined]
    for secret in (jwt, "hunter2", "pw1", "pw2"):
        assert secret not in out
    lines = captured()
    assert lines[0]["password"] == "***" and lines[0]["dsn"] == "postgresql://tp:***@db/x"
    assert "password=***" in lines[1]["exception"]
