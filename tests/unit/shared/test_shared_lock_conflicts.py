"""A transaction that lost a lock conflict is run again; one that keeps losing reaches the caller as 503."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from psycopg import errors
from tradeplane import db, problems
from tradeplane_local import events


def _failing(times: int, error: Exception) -> tuple[Any, list[int]]:
    calls: list[int] = []

    @db.retry_lock_conflicts
    def work(value: str) -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return value

    return work, calls


@pytest.mark.parametrize("error", [errors.DeadlockDetected("deadlock"), errors.SerializationFailure("serial")])
def test_a_lost_conflict_is_run_again(error: Exception) -> None:
    work, calls = _failing(2, error)
    assert work("done") == "done"
    assert len(calls) == 3


@pytest.mark.parametrize(
    "error",
    [errors.TransactionIntegrityConstraintViolation("deferred check at commit"), errors.TransactionRollback("other")],
)
def test_a_rollback_that_would_fail_again_is_not_run_again(error: Exception) -> None:
    """Class 40 beyond the two conflicts (40002 a deferred constraint, 40000 unspecified) is not a lost race."""
    work, calls = _failing(1, error)
    with pytest.raises(type(error)):
        work("never")
    assert len(calls) == 1


def test_a_conflict_that_keeps_losing_propagates_after_the_attempts() -> None:
    work, calls = _failing(99, errors.DeadlockDetected("deadlock"))
    with pytest.raises(errors.DeadlockDetected):
        work("never")
    assert len(calls) == db.CONFLICT_ATTEMPTS


@pytest.mark.parametrize("error", [errors.UniqueViolation("dup"), errors.QueryCanceled("timeout"), ValueError("x")])
def test_other_errors_are_not_retried(error: Exception) -> None:
    work, calls = _failing(1, error)
    with pytest.raises(type(error)):
        work("never")
    assert len(calls) == 1


def test_a_conflict_reaching_a_route_is_503_with_retry_after() -> None:
    app = APIGatewayHttpResolver(enable_validation=True)
    problems.register_problem_handlers(app, alpaca=True)

    @app.delete("/v2/orders/<order_id>")
    def cancel(order_id: str) -> dict[str, str]:
        raise errors.DeadlockDetected("deadlock detected DETAIL: Process 1 waits for ShareLock")

    request = events.HttpRequest("DELETE", "/v2/orders/o-1", "", [], b"", "127.0.0.1")
    resp = app.resolve(events.http_api_event(request, "DELETE /v2/orders/{order_id}", {"order_id": "o-1"}, {}), {})
    assert resp["statusCode"] == 503
    assert resp["headers"]["Retry-After"] == "1"
    assert "Process" not in resp["body"]
    assert json.loads(resp["body"])["type"].endswith("/unavailable")
