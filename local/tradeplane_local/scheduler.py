"""EventBridge schedules, locally: `rate(...)` and `cron(...)` expressions fire scheduled events."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tradeplane_local import events
from tradeplane_local.host import InvokeResult
from tradeplane_local.loops import BackgroundLoop

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
ASYNC_RETRIES = 2  # EventBridge -> Lambda is an async invoke: two retries after a failure


def next_fire(expression: str, after: datetime) -> datetime:
    """The first time strictly after `after` at which the schedule fires (UTC)."""
    rate = re.fullmatch(r"rate\((\d+) (\w+)\)", expression)
    if rate:
        period = int(rate.group(1)) * _UNITS[rate.group(2)]
        epoch = int(after.timestamp())
        return datetime.fromtimestamp(epoch - epoch % period + period, UTC)
    cron = re.fullmatch(r"cron\((.+)\)", expression)
    if not cron:
        raise ValueError(f"not a schedule expression: {expression}")
    from croniter import croniter

    minute, hour, dom, month, dow, year = cron.group(1).split()
    if year not in ("*", str(after.year)):
        raise ValueError(f"{expression}: only '*' or the current year is supported locally")
    # EventBridge writes "?" for "any" in day-of-month/day-of-week and numbers weekdays 1-7 from Sunday.
    dow = dow.replace("?", "*")
    if dow != "*":
        dow = re.sub(r"\d", lambda m: str(int(m.group()) - 1), dow)
    spec = " ".join([minute, hour, dom.replace("?", "*"), month, dow])
    result: datetime = croniter(spec, after.astimezone(UTC)).get_next(datetime)
    return result.astimezone(UTC)


@dataclass
class Schedule:
    function: str
    rule: str
    expression: str
    next_at: datetime
    fired: int = 0
    failures: int = 0


class Scheduler(BackgroundLoop):
    thread_name = "scheduler"

    def __init__(
        self,
        invoke: Callable[[str, dict[str, Any]], InvokeResult],
        log: Callable[[str], None] = lambda line: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.invoke = invoke
        self.log = log
        self.clock = clock
        self.schedules: list[Schedule] = []

    def add(self, function: str, expression: str) -> Schedule:
        rule = f"{function}-schedule-{len([s for s in self.schedules if s.function == function])}"
        sched = Schedule(function, rule, expression, next_fire(expression, self.clock()))
        self.schedules.append(sched)
        return sched

    def run_due(self) -> int:
        """Fire every schedule whose time has come; returns how many fired."""
        now = self.clock()
        fired = 0
        for sched in self.schedules:
            if sched.next_at > now:
                continue
            event = events.scheduled_event(sched.rule, sched.next_at)
            for _attempt in range(ASYNC_RETRIES + 1):
                result = self.invoke(sched.function, event)
                if result.ok:
                    break
                sched.failures += 1
            else:
                self.log(f"schedule {sched.rule}: {sched.function} failed {ASYNC_RETRIES + 1} times; event dropped")
            sched.fired += 1
            fired += 1
            sched.next_at = next_fire(sched.expression, max(now, sched.next_at))
        return fired

    def _run(self) -> None:
        while not self._stop.wait(self._sleep_for()):
            self.run_due()

    def _sleep_for(self) -> float:
        if not self.schedules:
            return 1.0
        soonest = min(s.next_at for s in self.schedules)
        return max(0.05, min(1.0, (soonest - self.clock()).total_seconds()))
