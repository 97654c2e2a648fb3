"""A local MSK event source mapping: poll a topic, invoke the function, commit what was handled.

Semantics (the MSK event source mapping with its error handling turned on, see
docs/local-runtime.md, "Kafka consumers"):

- Every partition of the topic is assigned explicitly, from the consumer
  group's committed offset (Tansu's group protocol is slow and flaky; offsets
  are still stored for the group). Partitions added to the topic later are
  picked up within `partition_refresh_s`, from their first record.
- Each partition tracks the next offset it expects from the broker. A record
  from the future (a gap) makes the source seek back and fetch again; a gap
  still there after `MAX_GAP_REFETCHES` fetches is skipped with a logged,
  counted reason. A record from the past (a replay) is dropped and counted.
  So a partition's records reach the function in order, each once per attempt.
- A batch holds records of one partition and closes at `batch_size` records or
  `batching_window_ms` after its first record. Batches of different
  partitions run concurrently, up to `max_concurrency`; one batch per partition
  is in flight, so a partition's order holds.
- A failed batch is retried whole, up to `max_retries` times with backoff,
  then (with `bisect_on_error`) split in halves handled the same way; a single
  record that still fails goes to the dead-letter topic, logged once.
- A partition's committed offset only ever covers a contiguous range of
  records that were handed to the function successfully, dead-lettered or
  skipped with a logged reason: a crash redelivers the rest (at least once;
  consumers dedupe on the envelope id).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from tradeplane_tools.wiring import EventSourceRule

from tradeplane_local import events
from tradeplane_local.host import InvokeResult
from tradeplane_local.loops import BackgroundLoop

POLL_TIMEOUT_S = 0.1
META_TIMEOUT_S = 10.0
MAX_GAP_REFETCHES = 3
CONSUME_MAX = 1000
SAFE_TEXT_LIMIT = 200
RETRY_BACKOFF_CAP_S = 5.0
# A source with no record for IDLE_AFTER_S fetches in probes (`_pace`): unassigned IDLE_GAP_S, then one fetch wait.
IDLE_AFTER_S = 1.0
IDLE_GAP_S = 0.08
IDLE_PROBE_S = 0.015  # the 10 ms fetch wait and a round trip


@dataclass(frozen=True)
class SourceConfig(EventSourceRule):
    """The wiring's event source rule (shared with the CDK app) plus the local poller's own knobs.

    `max_concurrency` is how many batches of different partitions are in flight at once.
    """

    retry_backoff_s: float = 0.2
    partition_refresh_s: float = 5.0  # how often the topic is checked for added partitions


@dataclass
class SourceStats:
    batches: int = 0  # invocations
    records: int = 0  # records in successful invocations (a redelivered record counts again)
    failed_invocations: int = 0
    dead_lettered: int = 0
    gaps: int = 0  # records from the future: the broker skipped offsets; the partition was fetched again
    gap_offsets_skipped: int = 0  # offsets never returned after MAX_GAP_REFETCHES fetches (each logged)
    replays_skipped: int = 0  # records from the past (already taken) dropped
    offset_resets: int = 0  # the broker answered "no such offset" (records deleted, or it lost its log)
    commits: int = 0
    commit_failures: int = 0
    idle_probes: int = 0  # fetches of a quiet source, each after IDLE_GAP_S without its partitions (`_pace`)
    partitions: int = 0
    last_error: str | None = None
    committed: dict[int, int] = field(default_factory=dict)
    lag: dict[int, int] = field(default_factory=dict)


def safe_text(text: str, limit: int = SAFE_TEXT_LIMIT) -> str:
    """Text built from input, fit for one log line or header: control and non-ASCII characters escaped, bounded."""
    escaped = json.dumps(text[: limit * 2], ensure_ascii=True)[1:-1]
    if len(escaped) <= limit and len(text) <= limit * 2:
        return escaped
    return f"{escaped[:limit]}...[{len(text)} chars]"


@dataclass(frozen=True)
class Failure:
    """Why an invocation failed: the error class and its message (built from input: escape before use)."""

    error_type: str
    message: str

    @classmethod
    def of(cls, result: InvokeResult) -> Failure:
        return cls(str(result.error_type or "Unknown"), str((result.error or {}).get("errorMessage", "")))

    def safe(self) -> str:
        return f"{safe_text(self.error_type, 64)}: {safe_text(self.message)}"


def consumer_config(bootstrap: str, group: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        # Never jump silently: an offset the broker no longer has is reported and handled here.
        "auto.offset.reset": "error",
        # Low latency: ask the broker to answer fetches at once rather than waiting to fill them.
        "fetch.wait.max.ms": 10,
        "fetch.min.bytes": 1,
        "socket.timeout.ms": 10_000,
        "session.timeout.ms": 6000,
    }


def _name(exc: KafkaException) -> str:
    """The Kafka error's code name (e.g. _TRANSPORT): enough to act on, and it carries no input."""
    return str(exc.args[0].name()) if exc.args and isinstance(exc.args[0], KafkaError) else type(exc).__name__


def _headers(msg: Any) -> list[tuple[str, bytes]]:
    return [(str(k), v if isinstance(v, bytes) else (v or "").encode()) for k, v in (msg.headers() or [])]


def _bytes(value: Any) -> bytes | None:
    return value if isinstance(value, bytes | None) else str(value).encode()


def _record(msg: Any) -> events.KafkaRecord:
    return events.KafkaRecord(
        topic=msg.topic(),
        partition=msg.partition(),
        offset=msg.offset(),
        timestamp_ms=msg.timestamp()[1],
        key=_bytes(msg.key()),
        value=_bytes(msg.value()),
        headers=_headers(msg),
    )


class OffsetOrderError(RuntimeError):
    """Records were marked handled out of order: a bug, refused so no commit skips a record."""


@dataclass
class PartitionState:
    """One partition's progress. Invariant: committed <= delivered <= next_offset.

    Every offset below `delivered` was handed to the function successfully,
    dead-lettered, or is in a `skipped` range (logged); `buffer` holds the
    records taken from the broker and not yet in a batch, in offset order.
    """

    partition: int
    next_offset: int  # the next offset expected from the broker
    delivered: int
    committed: int
    buffer: list[events.KafkaRecord] = field(default_factory=list)
    first_at: float = 0.0  # when the buffer's oldest record arrived (the batching window starts there)
    in_flight: bool = False
    paused: bool = False
    refetches: int = 0  # fetches of the current gap so far
    retry_at: float = 0.0
    skipped: list[tuple[int, int]] = field(default_factory=list)  # [start, end) ranges given up on

    @classmethod
    def starting_at(cls, partition: int, offset: int) -> PartitionState:
        return cls(partition, next_offset=offset, delivered=offset, committed=offset)

    def accept(self, record: events.KafkaRecord, now: float) -> None:
        if record.offset != self.next_offset:
            raise OffsetOrderError(f"partition {self.partition}: took {record.offset}, expected {self.next_offset}")
        if not self.buffer:
            self.first_at = now
        self.buffer.append(record)
        self.next_offset = record.offset + 1
        self.refetches = 0

    def skip_to(self, offset: int) -> int:
        """Give up on [next_offset, offset): the range counts as handled once the records before it are."""
        count = offset - self.next_offset
        self.skipped.append((self.next_offset, offset))
        self.next_offset = offset
        self.refetches = 0
        self._pass_skipped()
        return count

    def take_batch(self, batch_size: int, window_s: float, now: float) -> list[events.KafkaRecord] | None:
        """The next batch when one is due and none is in flight; marks it in flight."""
        if self.in_flight or not self.buffer or now < self.retry_at:
            return None
        if len(self.buffer) < batch_size and now - self.first_at < window_s:
            return None
        batch, self.buffer = self.buffer[:batch_size], self.buffer[batch_size:]
        self.in_flight = True
        return batch

    def mark_delivered(self, records: Sequence[events.KafkaRecord]) -> None:
        self._pass_skipped()
        if records[0].offset != self.delivered:
            raise OffsetOrderError(
                f"partition {self.partition}: handled {records[0].offset}..{records[-1].offset} "
                f"while {self.delivered} is the next to hand over"
            )
        self.delivered = records[-1].offset + 1
        self._pass_skipped()

    def requeue(self, records: Sequence[events.KafkaRecord], retry_at: float) -> None:
        """Put the undelivered records of a batch back in front, to be tried again from `retry_at`."""
        self.buffer[:0] = [r for r in records if r.offset >= self.delivered]
        self.retry_at = retry_at

    def _pass_skipped(self) -> None:
        while self.skipped and self.skipped[0][0] <= self.delivered:
            self.delivered = max(self.delivered, self.skipped.pop(0)[1])


class _StoppedError(Exception):
    pass


class KafkaEventSource(BackgroundLoop):
    stop_timeout_s = 15.0

    def __init__(
        self,
        cfg: SourceConfig,
        bootstrap: str,
        invoke: Callable[[dict[str, Any]], InvokeResult],
        log: Callable[[str], None] = lambda line: None,
        consumer_factory: Callable[[dict[str, Any]], Consumer] = Consumer,
    ) -> None:
        super().__init__()
        self.thread_name = f"kafka:{cfg.function}:{cfg.topic}"
        self.cfg = cfg
        self.bootstrap = bootstrap
        self.invoke = invoke
        self.log = log
        self.consumer_factory = consumer_factory
        self.stats = SourceStats()
        self.ready = threading.Event()
        self._parts: dict[int, PartitionState] = {}
        self._lock = threading.Lock()
        self._dlq: Producer | None = None
        self._last_logged_error: str | None = None
        self._last_record_at = time.monotonic()

    def clone(self) -> KafkaEventSource:
        """A new, unstarted source with the same wiring (a restart)."""
        return KafkaEventSource(self.cfg, self.bootstrap, self.invoke, self.log, self.consumer_factory)

    def _say(self, line: str) -> None:
        self.log(f"kafka source {self.cfg.function}<-{self.cfg.topic}: {line}")

    def _error(self, text: str) -> None:
        """Record an error; log it when it differs from the last one (a broker outage is not a flood)."""
        self.stats.last_error = text
        if text != self._last_logged_error:
            self._last_logged_error = text
            self._say(text)

    def settled(self) -> bool:
        """No batch in flight (a failed one waiting for its retry included) and no record taken waits for one:
        every record taken from the broker so far has been answered for (or dead-lettered)."""
        with self._lock:
            return all(not s.in_flight and not s.buffer for s in self._parts.values())

    # ------------------------------------------------------------------ lifecycle

    def _run(self) -> None:
        consumer = self._connect()
        self.ready.set()
        if consumer is None:
            return
        pool = ThreadPoolExecutor(max_workers=max(1, self.cfg.max_concurrency), thread_name_prefix=self.thread_name)
        try:
            self._loop(consumer, pool)
        finally:
            pool.shutdown(wait=True)  # in-flight invocations finish; their records count as handled
            self._commit(consumer)
            consumer.close()
            if self._dlq is not None:
                self._dlq.flush(5)

    def _connect(self) -> Consumer | None:
        while not self._stop.is_set():
            consumer = self.consumer_factory(consumer_config(self.bootstrap, self.cfg.group))
            try:
                self._discover(consumer, self.cfg.starting_position)
                if self._parts:
                    return consumer
                self._error(f"topic {self.cfg.topic!r} does not exist (create topics before consumers start)")
            except KafkaException as exc:
                self._error(f"cannot assign partitions: {_name(exc)}")
            consumer.close()
            self._stop.wait(1.0)
        return None

    def _loop(self, consumer: Consumer, pool: ThreadPoolExecutor) -> None:
        next_refresh = time.monotonic() + self.cfg.partition_refresh_s
        while not self._stop.is_set():
            if time.monotonic() >= next_refresh:
                next_refresh = time.monotonic() + self.cfg.partition_refresh_s
                self._refresh_partitions(consumer)
            try:
                msgs = self._fetch(consumer, quiet=self._pace(consumer))
            except KafkaException as exc:
                self._error(f"consume failed: {_name(exc)}")
                self._stop.wait(1.0)
                continue
            self._route(consumer, msgs)
            self._dispatch(pool)
            self._flow_control(consumer)
            self._commit(consumer)

    def _fetch(self, consumer: Consumer, *, quiet: bool = False) -> list[Any]:
        """Wait for one record (poll returns at the first), then take what is already there without waiting:
        consume(n, timeout) alone would hold a lone record until n arrive or the timeout passes. `quiet`: wait
        one probe (`_pace`)."""
        first = consumer.poll(IDLE_PROBE_S if quiet else self._wait_s())
        if first is None:
            return []
        self._last_record_at = time.monotonic()
        return [first, *consumer.consume(CONSUME_MAX, 0)]

    def _pace(self, consumer: Consumer) -> bool:
        """A quiet source (no record for IDLE_AFTER_S, nothing buffered or in flight) gives up its partitions for
        IDLE_GAP_S before each fetch and takes them back at the offsets it has read to, then polls one probe;
        True when it did.

        Why: Tansu 0.6 holds an empty fetch for the consumer's whole `fetch.wait.max.ms` and does not answer
        it early when a record arrives, so the sources keep that wait at 10 ms (latency) and librdkafka fetches
        ~100 times a second per source, records or not: the stack's six idle sources kept the broker at ~0.37
        of a core of two (0.12 with this). The first record after a quiet second waits up to IDLE_GAP_S longer
        (submit -> filled after 2 s of quiet: 46 ms at the median, 39 ms back to back); a busy source fetches
        back to back as before. Unassign/assign, not pause/resume: a resumed partition was fetched again only
        ~1 s later (librdkafka), an assigned one at once, from the offset given."""
        # The clock first: a busy source pays one subtraction per loop. Only this thread adds to buffers or
        # starts batches, so a settled source stays settled until it fetches again.
        if time.monotonic() - self._last_record_at < IDLE_AFTER_S or not self.settled():
            return False
        with self._lock:
            parts = [
                TopicPartition(self.cfg.topic, s.partition, s.next_offset) for s in self._parts.values() if not s.paused
            ]
        if not parts:
            return False
        consumer.incremental_unassign(parts)
        self._stop.wait(IDLE_GAP_S)
        consumer.incremental_assign(parts)
        self.stats.idle_probes += 1
        return True

    def _wait_s(self) -> float:
        """Poll no longer than until the earliest open batching window closes."""
        window_s = self.cfg.batching_window_ms / 1000
        with self._lock:
            due = [max(s.first_at + window_s, s.retry_at) for s in self._parts.values() if s.buffer and not s.in_flight]
        if not due:
            return POLL_TIMEOUT_S
        return min(POLL_TIMEOUT_S, max(0.0, min(due) - time.monotonic()))

    # ------------------------------------------------------------------ assignment

    def _refresh_partitions(self, consumer: Consumer) -> None:
        try:
            # Records written to a partition before we noticed it must not be lost: start at its beginning.
            self._discover(consumer, "TRIM_HORIZON")
        except KafkaException as exc:
            self._error(f"partition refresh failed: {_name(exc)}")

    def _discover(self, consumer: Consumer, position: str) -> None:
        """Assign the topic's partitions not assigned yet, each from its committed offset or `position`."""
        meta = consumer.list_topics(self.cfg.topic, timeout=META_TIMEOUT_S)
        topic = meta.topics.get(self.cfg.topic)
        if topic is None or topic.error is not None:
            return
        new = sorted(set(topic.partitions) - set(self._parts))
        if not new:
            return
        committed = consumer.committed([TopicPartition(self.cfg.topic, p) for p in new], timeout=META_TIMEOUT_S)
        starts = {tp.partition: self._start(consumer, tp, position) for tp in committed}
        consumer.incremental_assign([TopicPartition(self.cfg.topic, p, o) for p, o in starts.items()])
        with self._lock:
            for p, offset in starts.items():
                self._parts[p] = PartitionState.starting_at(p, offset)
            self.stats.partitions = len(self._parts)
        if self.ready.is_set():
            self._say(f"picked up new partitions {new}")

    def _start(self, consumer: Consumer, tp: TopicPartition, position: str) -> int:
        """The committed offset, else the first or next offset the broker has (Tansu's next one may be short)."""
        if tp.offset >= 0:
            return int(tp.offset)
        low, high = consumer.get_watermark_offsets(tp, timeout=META_TIMEOUT_S, cached=False)
        return int(low if position == "TRIM_HORIZON" else high)

    # ------------------------------------------------------------------ taking records

    def _route(self, consumer: Consumer, msgs: Sequence[Any]) -> None:
        """Take each partition's records while they are contiguous; drop a partition's share after a gap."""
        now = time.monotonic()
        halted: set[int] = set()
        replays: dict[int, list[int]] = {}
        with self._lock:
            for msg in msgs:
                if msg.error():
                    self._on_error(consumer, msg)
                    continue
                state = self._parts.get(msg.partition())
                if state is None or state.partition in halted:
                    continue
                if msg.offset() < state.next_offset:
                    replays.setdefault(state.partition, []).append(msg.offset())
                elif msg.offset() == state.next_offset or self._on_gap(consumer, state, msg.offset()):
                    state.accept(_record(msg), now)
                else:
                    halted.add(state.partition)  # the rest of its records came after the gap
            self.stats.replays_skipped += sum(len(offsets) for offsets in replays.values())
        for p, offsets in replays.items():
            self._say(f"partition {p}: dropped {len(offsets)} replayed records ({min(offsets)}..{max(offsets)})")

    def _on_gap(self, consumer: Consumer, state: PartitionState, offset: int) -> bool:
        """A record from the future. Fetch again from the expected offset (False), or give the gap up (True)."""
        expected = state.next_offset
        self.stats.gaps += 1
        if state.refetches < MAX_GAP_REFETCHES:
            state.refetches += 1
            self._say(
                f"partition {state.partition}: expected offset {expected}, broker returned {offset}; "
                f"fetching again from {expected} ({state.refetches}/{MAX_GAP_REFETCHES})"
            )
            self._seek(consumer, state.partition, expected)
            return False
        skipped = state.skip_to(offset)
        self.stats.gap_offsets_skipped += skipped
        self._say(
            f"partition {state.partition}: offsets {expected}..{offset - 1} still missing after "
            f"{MAX_GAP_REFETCHES} fetches (compacted, deleted or transaction markers); skipped {skipped}"
        )
        return True

    def _on_error(self, consumer: Consumer, msg: Any) -> None:
        err: KafkaError = msg.error()
        state = self._parts.get(msg.partition()) if msg.partition() is not None else None
        if err.code() == KafkaError._AUTO_OFFSET_RESET and state is not None:
            self._out_of_range(consumer, state)
        else:
            self._error(f"consumer error: {err.name()}")

    def _out_of_range(self, consumer: Consumer, state: PartitionState) -> None:
        """The broker has no record at our next offset. Skip only what it deleted (below its log start);
        otherwise fetch the same offset again: never jump past records that were not handed over."""
        tp = TopicPartition(self.cfg.topic, state.partition)
        low, _ = consumer.get_watermark_offsets(tp, timeout=META_TIMEOUT_S, cached=False)
        self.stats.offset_resets += 1
        expected = state.next_offset
        if expected < low:
            self.stats.gap_offsets_skipped += state.skip_to(low)
            self._say(f"partition {state.partition}: offsets {expected}..{low - 1} were deleted by the broker; skipped")
        else:  # a broker that lost its log (memory storage restarted) needs an operator; say so, keep trying
            self._error(f"partition {state.partition}: the broker has no offset {expected} (log start {low})")
        self._seek(consumer, state.partition, state.next_offset)

    def _seek(self, consumer: Consumer, partition: int, offset: int) -> None:
        try:
            consumer.seek(TopicPartition(self.cfg.topic, partition, offset))
        except KafkaException as exc:  # the next poll sees the same gap and tries again
            self._error(f"seek failed on partition {partition}: {_name(exc)}")

    def _flow_control(self, consumer: Consumer) -> None:
        """Pause a partition whose buffer is full (its batches are slow or failing); resume it when drained."""
        limit = max(4 * self.cfg.batch_size, CONSUME_MAX)
        with self._lock:
            pause = [s for s in self._parts.values() if not s.paused and len(s.buffer) >= limit]
            resume = [s for s in self._parts.values() if s.paused and len(s.buffer) < self.cfg.batch_size]
            for s in pause:
                s.paused = True
            for s in resume:
                s.paused = False
        if pause:
            consumer.pause([TopicPartition(self.cfg.topic, s.partition) for s in pause])
        if resume:
            consumer.resume([TopicPartition(self.cfg.topic, s.partition) for s in resume])

    # ------------------------------------------------------------------ delivery

    def _due(self, state: PartitionState, now: float) -> list[events.KafkaRecord] | None:
        """The partition's next batch if one is due (call with the lock held)."""
        return state.take_batch(self.cfg.batch_size, self.cfg.batching_window_ms / 1000, now)

    def _dispatch(self, pool: ThreadPoolExecutor) -> None:
        now = time.monotonic()
        with self._lock:
            due = [(state, self._due(state, now)) for state in self._parts.values()]
        for state, batch in due:
            if batch:
                self._submit(pool, state, batch)

    def _submit(self, pool: ThreadPoolExecutor, state: PartitionState, batch: list[events.KafkaRecord]) -> None:
        try:
            pool.submit(self._drive, pool, state, batch)
        except RuntimeError:  # shutting down: the batch stays unhandled, so uncommitted
            with self._lock:
                state.in_flight = False
                state.requeue(batch, 0.0)

    def _drive(self, pool: ThreadPoolExecutor, state: PartitionState, batch: list[events.KafkaRecord]) -> None:
        """Run one partition's batch; queue its next due batch behind other partitions' (fair, in order)."""
        self._run_batch(state, batch)
        with self._lock:
            state.in_flight = False
            batch_next = None if self._stop.is_set() else self._due(state, time.monotonic())
        if batch_next:
            self._submit(pool, state, batch_next)

    def _run_batch(self, state: PartitionState, batch: list[events.KafkaRecord]) -> None:
        try:
            self._handle(state, batch)
        except _StoppedError:
            with self._lock:
                state.requeue(batch, 0.0)
        except Exception as exc:  # noqa: BLE001 - one partition's trouble must not stop the others
            self._error(f"partition {state.partition}: batch not handled ({type(exc).__name__}); will retry")
            with self._lock:
                state.requeue(batch, time.monotonic() + RETRY_BACKOFF_CAP_S)

    def _handle(self, state: PartitionState, records: list[events.KafkaRecord]) -> None:
        failure = self._deliver(records)
        if failure is None:
            self._delivered(state, records)
        elif self.cfg.bisect_on_error and len(records) > 1:
            mid = len(records) // 2
            self._handle(state, records[:mid])
            self._handle(state, records[mid:])
        else:
            self._dead_letter(records, failure)
            self._delivered(state, records)

    def _delivered(self, state: PartitionState, records: Sequence[events.KafkaRecord]) -> None:
        with self._lock:
            state.mark_delivered(records)

    def _deliver(self, records: list[events.KafkaRecord]) -> Failure | None:
        """Invoke with retries; None on success, else the last failure."""
        failure = None
        for attempt in range(self.cfg.max_retries + 1):
            if attempt and self._stop.wait(min(self.cfg.retry_backoff_s * 2 ** (attempt - 1), RETRY_BACKOFF_CAP_S)):
                raise _StoppedError
            result = self.invoke(events.msk_event(records, self.bootstrap))
            with self._lock:  # counted from several partitions' threads
                self.stats.batches += 1
                if result.ok:
                    self.stats.records += len(records)
                    return None
                self.stats.failed_invocations += 1
            failure = Failure.of(result)
            self.stats.last_error = failure.safe()
        return failure

    def _dead_letter(self, records: list[events.KafkaRecord], failure: Failure) -> None:
        """Send each record to the dead-letter topic with its provenance; one log line per record."""
        if self._dlq is None:
            self._dlq = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True, "linger.ms": 0})
        attempts = self.cfg.max_retries + 1
        for r in records:
            headers: list[tuple[str, str | bytes | None]] = [
                *r.headers,
                ("tp-dlq-source-topic", r.topic.encode()),
                ("tp-dlq-source-partition", str(r.partition).encode()),
                ("tp-dlq-source-offset", str(r.offset).encode()),
                ("tp-dlq-function", self.cfg.function.encode()),
                ("tp-dlq-error-class", safe_text(failure.error_type, 64).encode()),
                ("tp-dlq-error", failure.safe().encode()),
                ("tp-dlq-attempts", str(attempts).encode()),
            ]
            self._dlq.produce(self.cfg.dead_letter_topic, key=r.key, value=r.value, headers=headers)
        pending = self._dlq.flush(10)
        if pending:  # not handled: the batch is retried later and nothing is committed past it
            raise RuntimeError(f"dead-letter topic {self.cfg.dead_letter_topic} did not take {pending} records")
        for r in records:
            self._say(
                f"dead-lettered {r.topic}[{r.partition}]@{r.offset} to {self.cfg.dead_letter_topic} "
                f"after {attempts} attempts: {failure.safe()}"
            )
        with self._lock:
            self.stats.dead_lettered += len(records)

    # ------------------------------------------------------------------ commit

    def _commit(self, consumer: Consumer) -> None:
        """Commit each partition's contiguous handled range, when it grew."""
        with self._lock:
            due = {s.partition: s.delivered for s in self._parts.values() if s.delivered > s.committed}
        if not due:
            return
        try:
            consumer.commit(offsets=[TopicPartition(self.cfg.topic, p, o) for p, o in due.items()], asynchronous=False)
        except KafkaException as exc:  # kept: the next loop commits the same (or a larger) range
            self.stats.commit_failures += 1
            self._error(f"commit failed: {_name(exc)}")
            return
        with self._lock:
            for p, offset in due.items():
                state = self._parts[p]
                state.committed = max(state.committed, offset)
                self.stats.committed[p] = state.committed
                high = consumer.get_watermark_offsets(TopicPartition(self.cfg.topic, p), cached=True)[1]
                self.stats.lag[p] = max(0, int(high) - state.committed)
            self.stats.commits += 1
