"""Outage errors are waited out while the invocation has time; anything else fails at once."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors
from psycopg_pool import PoolTimeout
from tradeplane.outage import is_outage, ride_out


def _wrapped(inner: BaseException) -> RuntimeError:
    try:
        raise RuntimeError("batch failed") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (psycopg.OperationalError("connection refused"), True),  # no SQLSTATE: the server was not reached
        (PoolTimeout("couldn't get a connection after 10 s"), True),
        (errors.AdminShutdown(), True),
        (errors.CannotConnectNow(), True),
        (errors.SerializationFailure(), True),
        (_wrapped(PoolTimeout("x")), True),  # found through the cause chain
        (errors.QueryCanceled(), False),  # a statement timeout repeats for the same record
        (errors.UniqueViolation(), False),
        (ValueError("badly formed hexadecimal UUID string"), False),
    ],
)
def test_outage_errors_are_told_from_bad_work(error: BaseException, outage: bool) -> None:
    assert is_outage(error) is outage


def test_an_outage_is_retried_with_backoff_until_the_work_succeeds() -> None:
    calls, waits = [], []

    def work() -> str:
        calls.append(1)
        if len(calls) < 4:
            raise psycopg.OperationalError("connection refused")
        return "done"

    assert ride_out(work, lambda: 60_000, sleep=waits.append) == "done"
    assert waits == [0.5, 1.0, 2.0]


def test_an_outage_fails_when_the_invocation_runs_out_of_time() -> None:
    remaining = iter([20_000, 9_000, 6_000])
    waits: list[float] = []

    def work() -> None:
        raise PoolTimeout("no connection")

    with pytest.raises(PoolTimeout):
        ride_out(work, lambda: next(remaining), sleep=waits.append)
    assert waits == [0.5, 1.0]  # the third wait (2 s) would leave less than the 5 s margin


def test_a_bad_record_is_not_retried() -> None:
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        raise ValueError("bad record")

    with pytest.raises(ValueError):
        ride_out(work, lambda: 60_000, sleep=lambda _s: None)
    assert calls == [1]
