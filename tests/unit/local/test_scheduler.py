from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tradeplane_local.host import InvokeResult
from tradeplane_local.scheduler import Scheduler
from tradeplane_tools.wiring import ScheduleRule, next_fire

T0 = datetime(2026, 11, 24, 10, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("rate(1 minute)", datetime(2026, 11, 24, 10, 8, tzinfo=UTC)),
        ("rate(5 minutes)", datetime(2026, 11, 24, 10, 10, tzinfo=UTC)),
        ("rate(1 hour)", datetime(2026, 11, 24, 11, 0, tzinfo=UTC)),
        ("cron(0 12 * * ? *)", datetime(2026, 11, 24, 12, 0, tzinfo=UTC)),
        ("cron(30 9 ? * 2 *)", datetime(2026, 11, 30, 9, 30, tzinfo=UTC)),  # EventBridge 2 = Monday
        ("cron(*/15 * * * ? *)", datetime(2026, 11, 24, 10, 15, tzinfo=UTC)),
    ],
)
def test_next_fire(expr: str, expected: datetime) -> None:
    assert next_fire(expr, T0) == expected


def test_due_schedule_fires_with_retries_then_moves_on() -> None:
    now = [T0]
    calls: list[tuple[str, dict]] = []  # type: ignore[type-arg]

    def invoke(fn: str, event: dict) -> InvokeResult:  # type: ignore[type-arg]
        calls.append((fn, event))
        return InvokeResult(ok=len(calls) >= 2, request_id="r")

    s = Scheduler(invoke, clock=lambda: now[0])
    sched = s.add(ScheduleRule("expiry", "expiry-0", "rate(1 minute)"))
    assert s.run_due() == 0
    now[0] = datetime(2026, 11, 24, 10, 8, 0, 100, tzinfo=UTC)
    assert s.run_due() == 1
    assert len(calls) == 2  # failed once, retried once
    assert calls[0][1]["detail-type"] == "Scheduled Event" and calls[0][1]["time"] == "2026-11-24T10:08:00Z"
    assert sched.next_at == datetime(2026, 11, 24, 10, 9, tzinfo=UTC)


def test_a_stopping_scheduler_fires_and_retries_nothing_more() -> None:
    """The runtime stops the scheduler before it shuts the functions down; an invocation that outlived the stop's
    join must not be retried, nor the next due schedule fired, into functions that are gone."""
    now = [T0]
    calls: list[str] = []
    s = Scheduler(lambda fn, event: InvokeResult(ok=False, request_id="r"), clock=lambda: now[0])

    def invoke(fn: str, event: dict) -> InvokeResult:  # type: ignore[type-arg]
        calls.append(fn)
        s._stop.set()  # the stop comes while this invocation runs
        return InvokeResult(ok=False, request_id="r")

    s.invoke = invoke
    s.add(ScheduleRule("expiry", "expiry-0", "rate(1 minute)", retry_attempts=2))
    s.add(ScheduleRule("relay", "relay-0", "rate(1 minute)"))
    now[0] = datetime(2026, 11, 24, 10, 8, 0, 100, tzinfo=UTC)  # both due
    s.run_due()
    assert calls == ["expiry"]  # no retry, and the relay's schedule was not fired
