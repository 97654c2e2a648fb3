"""Property: any interleaving of several partitions' batches keeps each key's order and commits only
contiguous handled offsets (issue 16).

A Hypothesis state machine drives the Kafka source's `PartitionState` of several partitions the way
the source does, in any order: records arrive from the broker (or a range is given up as a logged
gap), batches are taken, succeed, fail after handing over a prefix (bisection) and are requeued, and
offsets are committed. After every step: no partition has two batches in flight, a key's records
reach the function in the order they were produced with none twice, and every committed offset
covers only records that were delivered or skipped with a logged reason.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from tradeplane_local.events import KafkaRecord
from tradeplane_local.kafka_source import PartitionState

KEYS = [f"sym{i}" for i in range(7)]


class Partitions(RuleBasedStateMachine):
    @initialize(partitions=st.integers(1, 6), start=st.integers(0, 50))
    def setup(self, partitions: int, start: int) -> None:
        self.count = partitions
        self.now = 0.0
        self.log: list[list[KafkaRecord]] = [[] for _ in range(partitions)]  # the broker's records per partition
        self.base = start  # every partition starts at this (committed) offset
        self.parts = [PartitionState.starting_at(p, start) for p in range(partitions)]
        self.in_flight: dict[int, list[KafkaRecord]] = {}
        self.handed: dict[int, list[int]] = {p: [] for p in range(partitions)}  # offsets the function took, in order
        self.skipped: dict[int, set[int]] = {p: set() for p in range(partitions)}
        self.produced: dict[str, list[tuple[int, int]]] = {k: [] for k in KEYS}  # key -> (partition, offset)
        self.committed = [start] * partitions

    def _partition_of(self, key: str) -> int:
        return KEYS.index(key) % self.count  # a key always lands on the same partition, like the producer's hash

    @rule(key=st.sampled_from(KEYS), n=st.integers(1, 5))
    def produce(self, key: str, n: int) -> None:
        p = self._partition_of(key)
        for _ in range(n):
            offset = self.base + len(self.log[p])
            self.log[p].append(KafkaRecord("t", p, offset, 0, key.encode(), b"v"))
            self.produced[key].append((p, offset))

    @rule(data=st.data())
    def fetch(self, data: st.DataObject) -> None:
        """The broker returns some of the partition's next records, in order."""
        p = data.draw(st.integers(0, self.count - 1))
        state = self.parts[p]
        available = self.log[p][state.next_offset - self.base :]
        for record in available[: data.draw(st.integers(0, len(available)))]:
            state.accept(record, self.now)

    @rule(data=st.data())
    def give_up_gap(self, data: st.DataObject) -> None:
        """Offsets the broker never returns (compacted, deleted): skipped with a logged reason."""
        p = data.draw(st.integers(0, self.count - 1))
        state = self.parts[p]
        left = self.base + len(self.log[p]) - state.next_offset
        if left <= 0:
            return
        end = state.next_offset + data.draw(st.integers(1, left))
        self.skipped[p].update(range(state.next_offset, end))
        state.skip_to(end)

    @rule(data=st.data(), batch_size=st.integers(1, 8))
    def take(self, data: st.DataObject, batch_size: int) -> None:
        p = data.draw(st.integers(0, self.count - 1))
        batch = self.parts[p].take_batch(batch_size, window_s=0.0, now=self.now)
        if p in self.in_flight:
            assert batch is None, "a second batch of one partition went in flight"
        elif batch is not None:
            self.in_flight[p] = batch

    @precondition(lambda self: bool(self.in_flight))
    @rule(data=st.data())
    def succeed(self, data: st.DataObject) -> None:
        p = data.draw(st.sampled_from(sorted(self.in_flight)))
        batch = self.in_flight.pop(p)
        self.handed[p].extend(r.offset for r in batch)
        self.parts[p].mark_delivered(batch)
        self.parts[p].in_flight = False

    @precondition(lambda self: bool(self.in_flight))
    @rule(data=st.data())
    def fail(self, data: st.DataObject) -> None:
        """The batch failed after bisection handed over a prefix; the rest is retried later."""
        p = data.draw(st.sampled_from(sorted(self.in_flight)))
        batch = self.in_flight.pop(p)
        prefix = batch[: data.draw(st.integers(0, len(batch) - 1))]
        if prefix:
            self.handed[p].extend(r.offset for r in prefix)
            self.parts[p].mark_delivered(prefix)
        self.parts[p].in_flight = False
        self.parts[p].requeue(batch, retry_at=self.now + data.draw(st.sampled_from([0.0, 1.0])))

    @rule()
    def tick(self) -> None:
        self.now += 1.0

    @rule()
    def commit(self) -> None:
        """What the source's commit does: each partition's contiguous handled range, when it grew."""
        for p, state in enumerate(self.parts):
            if state.delivered > state.committed:
                state.committed = state.delivered
                self.committed[p] = state.committed

    # ------------------------------------------------------------------ invariants

    @invariant()
    def offsets_stay_ordered(self) -> None:
        for state in self.parts:
            assert state.committed <= state.delivered <= state.next_offset

    @invariant()
    def commits_cover_only_handled_records(self) -> None:
        for p, state in enumerate(self.parts):
            handled = set(self.handed[p]) | self.skipped[p]
            assert set(range(self.base, state.committed)) <= handled, f"partition {p} committed past a record"
            assert state.committed == self.committed[p]

    @invariant()
    def each_key_in_order_and_once(self) -> None:
        for p in range(getattr(self, "count", 0)):
            assert self.handed[p] == sorted(set(self.handed[p])), f"partition {p}: {self.handed[p]}"
        for key, records in self.produced.items() if hasattr(self, "produced") else ():
            p = self._partition_of(key)
            handed = [o for o in self.handed[p] if (p, o) in records]
            expected = [o for _, o in records if o in set(self.handed[p])]
            assert handed == expected, f"{key}: handed {handed}, produced {expected}"


Partitions.TestCase.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
TestPartitionInterleavings = Partitions.TestCase
