"""EventBridge schedules, locally: the wiring's schedule rules fire scheduled events, with its retries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tradeplane_tools.wiring import ScheduleRule

from tradeplane_local import events
from tradeplane_local.host import InvokeResult
from tradeplane_local.loops import BackgroundLoop


@dataclass
class Schedule:
    rule: ScheduleRule
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

    def add(self, rule: ScheduleRule) -> Schedule:
        sched = Schedule(rule, rule.next_fire(self.clock()))
        self.schedules.append(sched)
        return sched

    def run_due(self) -> int:
        """Fire every schedule whose time has come; returns how many fired."""
        now = self.clock()
        fired = 0
        for sched in self.schedules:
            if self._stop.is_set():  # stopping: the runtime may already be shutting the functions down
                break
            if sched.next_at > now:
                continue
            self._fire(sched)
            fired += 1
            sched.next_at = sched.rule.next_fire(max(now, sched.next_at))
        return fired

    def _fire(self, sched: Schedule) -> None:
        rule = sched.rule
        event = events.scheduled_event(rule.name, sched.next_at)
        for _attempt in range(rule.retry_attempts + 1):
            if self.invoke(rule.function, event).ok:
                break
            sched.failures += 1
            if self._stop.is_set():  # no retry into a runtime that is stopping
                return
        else:
            self.log(f"schedule {rule.name}: {rule.function} failed {rule.retry_attempts + 1} times; event dropped")
        sched.fired += 1

    def _run(self) -> None:
        while not self._stop.wait(self._sleep_for()):
            self.run_due()

    def _sleep_for(self) -> float:
        if not self.schedules:
            return 1.0
        soonest = min(s.next_at for s in self.schedules)
        return max(0.05, min(1.0, (soonest - self.clock()).total_seconds()))
