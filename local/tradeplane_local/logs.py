"""Collect every function's log lines, as CloudWatch Logs would, and feed the log subscribers.

Each line a worker prints (the JSON lines of the Powertools Logger, and the
runtime's START/END/REPORT lines) is appended to `logs/functions.jsonl` in the
state directory (`tradeplane local logs` reads it) and, for functions with a
`logs` trigger, batched into CloudWatch Logs subscription events once a second.
A subscriber never receives its own lines, so it cannot feed itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tradeplane_tools.wiring import LogSubscriptionRule

from tradeplane_local import events
from tradeplane_local.host import InvokeResult
from tradeplane_local.loops import BackgroundLoop

FLUSH_INTERVAL_S = 1.0
MAX_EVENTS_PER_DELIVERY = 1000


class LogRouter(BackgroundLoop):
    thread_name = "logs"

    def __init__(self, log_file: Path) -> None:
        super().__init__()
        log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file = log_file
        self._out = open(log_file, "a", buffering=1)  # noqa: SIM115 - lives as long as the runtime
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], list[events.LogLine]] = {}
        self._subscribers: list[tuple[LogSubscriptionRule, Callable[[dict[str, Any]], InvokeResult]]] = []

    def subscribe(self, rule: LogSubscriptionRule, invoke: Callable[[dict[str, Any]], InvokeResult]) -> None:
        """Feed `rule.subscriber` the lines of the functions in `rule.sources` (the log groups AWS subscribes)."""
        self._subscribers.append((rule, invoke))

    @property
    def subscriptions(self) -> list[LogSubscriptionRule]:
        return [rule for rule, _ in self._subscribers]

    def __call__(self, function: str, stream: str, line: str) -> None:
        now_ms = int(time.time() * 1000)
        record = json.dumps({"t": now_ms, "fn": function, "stream": stream, "msg": line})
        with self._lock:
            if self._out.closed:  # a thread that outlived the runtime's stop (a container's last lines): dropped
                return
            self._out.write(record + "\n")
            if self._subscribers:
                self._pending.setdefault((function, stream), []).append(events.LogLine(now_ms, line))

    def flush(self) -> int:
        """Deliver what is pending to every subscriber; returns the number of deliveries."""
        with self._lock:
            pending, self._pending = self._pending, {}
        deliveries = 0
        for (function, stream), lines in pending.items():
            for rule, invoke in self._subscribers:
                if function not in rule.sources:
                    continue
                matched = [ln for ln in lines if _matches(rule.filter_pattern, ln.message)]
                for i in range(0, len(matched), MAX_EVENTS_PER_DELIVERY):
                    chunk = matched[i : i + MAX_EVENTS_PER_DELIVERY]
                    invoke(events.cloudwatch_logs_event(function, stream, chunk, f"{rule.subscriber}-subscription"))
                    deliveries += 1
        return deliveries

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_S):
            self.flush()

    def stop(self) -> None:
        """Stop delivering (after a last flush); lines are still written to the file until `close`."""
        super().stop()
        self.flush()

    def close(self) -> None:
        with self._lock:
            self._out.close()


def _matches(pattern: str, message: str) -> bool:
    """CloudWatch filter patterns, the subset used here: empty (all) or space-separated terms (all must appear)."""
    terms = [t.strip('"') for t in pattern.split()]
    return all(t in message for t in terms)


def read_logs(log_file: Path, function: str | None = None, *, follow: bool = False) -> Iterator[dict[str, Any]]:
    """Yield collected log records, optionally one function's, optionally following new ones."""
    if not log_file.exists():
        return
    with open(log_file) as f:
        while True:
            line = f.readline()
            if not line:
                if not follow:
                    return
                time.sleep(0.2)
                continue
            record = json.loads(line)
            if function is None or record["fn"] == function:
                yield record
