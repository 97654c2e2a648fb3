"""Which records a Kafka event source handed its function more than once, and whether each time was allowed.

At least once, no more: a record may reach the function again only after an invocation holding it failed
(a crash, a timeout or an error answer: the source cannot know whether its effects committed), and then
once per failed attempt at most. A record of an answered invocation must never come again. The function's
inbox reports how many records of an invocation it had applied already (`duplicates`); each of those must be
a record that the same invocation redelivered after a failure, or the accounting does not close.

The ledger keys records by (topic, partition, offset) and judges every invocation on its own answer, so the
figures do not depend on when a caller reads them (the chaos driver reads them per round).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from tradeplane_local.host import InvokeResult

RecordKey = tuple[str, int, int]  # topic, partition, offset
MAX_NOTES = 20


@dataclass(frozen=True)
class Tally:
    failed_records: int = 0  # records of failed invocations, once per attempt
    redelivered: int = 0  # records handed over successfully after a failed attempt of theirs
    duplicates: int = 0  # records the function's inbox had applied already (its answers' `duplicates`)
    answered_again: int = 0  # records handed over again after an answered invocation: never allowed
    unexplained: int = 0  # duplicates beyond the records their invocation redelivered after a failure

    def __sub__(self, earlier: Tally) -> Tally:
        now, before = asdict(self), asdict(earlier)
        return Tally(**{f.name: now[f.name] - before[f.name] for f in fields(self)})


def record_keys(event: dict[str, Any]) -> list[RecordKey]:
    """The records of an MSK event, in order."""
    return [(r["topic"], int(r["partition"]), int(r["offset"])) for rs in event.get("records", {}).values() for r in rs]


def _span(keys: Iterable[RecordKey]) -> str:
    ordered = sorted(keys)
    if not ordered:
        return "no records"
    (topic, partition, first), last = ordered[0], ordered[-1][2]
    return f"{topic}[{partition}]@{first}..{last}"


class RedeliveryLedger:
    """Counts every invocation of one function by its event and answer; thread-safe."""

    def __init__(self) -> None:
        self._tally = Tally()
        self._unanswered: set[RecordKey] = set()  # in a failed invocation, not handed over successfully since
        self._answered: set[RecordKey] = set()
        self._notes: list[str] = []
        self._lock = threading.Lock()

    @property
    def tally(self) -> Tally:
        with self._lock:
            return self._tally

    @property
    def notes(self) -> list[str]:
        """The last invocations whose redeliveries were not allowed, one line each (offsets, never payloads)."""
        with self._lock:
            return list(self._notes)

    def count(self, event: dict[str, Any], result: InvokeResult) -> None:
        keys = record_keys(event)
        with self._lock:
            t = self._tally
            answered_again = self._answered.intersection(keys) - self._unanswered  # answered, not failed since
            if not result.ok:
                self._unanswered.update(keys)
                failed = t.failed_records + len(keys)
                self._tally = replace(t, failed_records=failed, answered_again=t.answered_again + len(answered_again))
                unexplained = 0
            else:
                again = self._unanswered.intersection(keys)
                self._unanswered.difference_update(again)
                self._answered.update(keys)
                duplicates = int(result.result.get("duplicates", 0)) if isinstance(result.result, dict) else 0
                unexplained = max(0, duplicates - len(again))
                self._tally = replace(
                    t,
                    redelivered=t.redelivered + len(again),
                    duplicates=t.duplicates + duplicates,
                    answered_again=t.answered_again + len(answered_again),
                    unexplained=t.unexplained + unexplained,
                )
            if answered_again or unexplained:
                self._notes = [*self._notes, self._note(keys, result, answered_again, unexplained)][-MAX_NOTES:]

    @staticmethod
    def _note(keys: list[RecordKey], result: InvokeResult, answered_again: set[RecordKey], unexplained: int) -> str:
        outcome = "answered" if result.ok else f"failed ({result.error_type})"
        return (
            f"{_span(keys)} {outcome}: {len(answered_again)} records handed over again after an answer, "
            f"{unexplained} duplicates not redelivered after a failure"
        )
