"""A local MSK event source mapping: poll a topic, invoke the function, commit after success.

Semantics (chosen to match the MSK event source mapping with its error
handling turned on, see docs/local-runtime.md):

- Records are read from every partition of the topic with explicit partition
  assignment and the consumer group's committed offsets (Tansu's group
  protocol is slow and flaky; offsets are still stored for the group, so
  `kafka-consumer-groups` and a restart see them).
- A batch closes at `batch_size` records or `batching_window_ms` after its
  first record, whichever comes first (a zero window invokes as soon as
  records are there). Records arrive grouped by topic-partition, in order.
- A failed batch is retried whole, up to `max_retries` times with backoff.
  Then, with `bisect_on_error`, it is split in two and each half is handled
  the same way, so a poison record is isolated; a single record that still
  fails goes to the dead-letter topic with headers saying where it came from
  and why. Offsets are committed only after the whole polled batch has been
  handled, so a crash redelivers it (at least once; consumers dedupe).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaException, Producer, TopicPartition

from tradeplane_local import events
from tradeplane_local.host import InvokeResult
from tradeplane_local.loops import BackgroundLoop

POLL_TIMEOUT_S = 0.1
META_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class SourceConfig:
    function: str
    topic: str
    group: str
    batch_size: int
    batching_window_ms: int
    starting_position: str
    max_retries: int
    bisect_on_error: bool
    dead_letter_topic: str
    retry_backoff_s: float = 0.2


@dataclass
class SourceStats:
    batches: int = 0
    records: int = 0
    failed_invocations: int = 0
    dead_lettered: int = 0
    last_error: str | None = None
    lag: dict[int, int] = field(default_factory=dict)


def consumer_config(bootstrap: str, group: str, starting_position: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest" if starting_position == "TRIM_HORIZON" else "latest",
        # Low latency: ask the broker to answer fetches at once rather than waiting to fill them.
        "fetch.wait.max.ms": 10,
        "fetch.min.bytes": 1,
        "socket.timeout.ms": 10_000,
        "session.timeout.ms": 6000,
    }


def _headers(msg: Any) -> list[tuple[str, bytes]]:
    return [(str(k), v if isinstance(v, bytes) else (v or "").encode()) for k, v in (msg.headers() or [])]


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
    ) -> None:
        super().__init__()
        self.thread_name = f"kafka:{cfg.function}:{cfg.topic}"
        self.cfg = cfg
        self.bootstrap = bootstrap
        self.invoke = invoke
        self.log = log
        self.stats = SourceStats()
        self._consumer: Consumer | None = None
        self._dlq: Producer | None = None
        self.ready = threading.Event()

    # ------------------------------------------------------------------ lifecycle

    def _assign(self) -> Consumer:
        consumer = Consumer(consumer_config(self.bootstrap, self.cfg.group, self.cfg.starting_position))
        meta = consumer.list_topics(self.cfg.topic, timeout=META_TIMEOUT_S)
        topic = meta.topics.get(self.cfg.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            consumer.close()
            raise RuntimeError(f"topic {self.cfg.topic!r} does not exist (create topics before consumers start)")
        parts = [TopicPartition(self.cfg.topic, p) for p in sorted(topic.partitions)]
        start = OFFSET_BEGINNING if self.cfg.starting_position == "TRIM_HORIZON" else OFFSET_END
        committed = consumer.committed(parts, timeout=META_TIMEOUT_S)
        consumer.assign(
            [TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else start) for tp in committed]
        )
        return consumer

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consumer = self._assign()
                break
            except (KafkaException, RuntimeError) as exc:
                self.stats.last_error = str(exc)
                self.log(f"kafka source {self.cfg.function}<-{self.cfg.topic}: {exc}; retrying")
                self._stop.wait(1.0)
        self.ready.set()
        consumer = self._consumer
        if consumer is None:
            return
        try:
            while not self._stop.is_set():
                batch = self._next_batch(consumer)
                if batch:
                    self._handle(batch)
                    self._commit(consumer, batch)
        except _StoppedError:
            pass  # mid-batch: leave it uncommitted, it is delivered again on the next start
        finally:
            consumer.close()
            if self._dlq is not None:
                self._dlq.flush(5)

    # ------------------------------------------------------------------ batching

    def _next_batch(self, consumer: Consumer) -> list[events.KafkaRecord]:
        first = consumer.poll(POLL_TIMEOUT_S)
        if first is None:
            return []
        batch = [first]
        deadline = time.monotonic() + self.cfg.batching_window_ms / 1000
        while len(batch) < self.cfg.batch_size:
            remaining = deadline - time.monotonic()
            more = consumer.consume(self.cfg.batch_size - len(batch), timeout=max(0.0, remaining))
            batch.extend(more)
            if remaining <= 0:
                break
        records = []
        for msg in batch:
            if msg.error():
                self.stats.last_error = str(msg.error())
                continue
            records.append(
                events.KafkaRecord(
                    topic=msg.topic() or self.cfg.topic,
                    partition=msg.partition() or 0,
                    offset=msg.offset() or 0,
                    timestamp_ms=msg.timestamp()[1],
                    key=msg.key() if isinstance(msg.key(), bytes | None) else str(msg.key()).encode(),
                    value=msg.value() if isinstance(msg.value(), bytes | None) else str(msg.value()).encode(),
                    headers=_headers(msg),
                )
            )
        return records

    # ------------------------------------------------------------------ delivery

    def _handle(self, records: list[events.KafkaRecord]) -> None:
        error = self._deliver(records)
        if error is None:
            return
        if self.cfg.bisect_on_error and len(records) > 1:
            mid = len(records) // 2
            self._handle(records[:mid])
            self._handle(records[mid:])
            return
        self._dead_letter(records, error)

    def _deliver(self, records: list[events.KafkaRecord]) -> str | None:
        """Invoke with retries; None on success, else the last error."""
        error = None
        for attempt in range(self.cfg.max_retries + 1):
            if attempt and self._stop.wait(min(self.cfg.retry_backoff_s * 2 ** (attempt - 1), 5.0)):
                raise _StoppedError
            result = self.invoke(events.msk_event(records, self.bootstrap))
            self.stats.batches += 1
            if result.ok:
                self.stats.records += len(records)
                return None
            self.stats.failed_invocations += 1
            error = f"{result.error_type}: {(result.error or {}).get('errorMessage', '')}"[:500]
            self.stats.last_error = error
        return error

    def _dead_letter(self, records: list[events.KafkaRecord], error: str) -> None:
        if self._dlq is None:
            self._dlq = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True, "linger.ms": 0})
        for r in records:
            headers: list[tuple[str, str | bytes | None]] = [
                *r.headers,
                ("tp-dlq-source-topic", r.topic.encode()),
                ("tp-dlq-source-partition", str(r.partition).encode()),
                ("tp-dlq-source-offset", str(r.offset).encode()),
                ("tp-dlq-function", self.cfg.function.encode()),
                ("tp-dlq-error", error.encode()[:1000]),
            ]
            self._dlq.produce(self.cfg.dead_letter_topic, key=r.key, value=r.value, headers=headers)
            self.log(
                f"kafka source {self.cfg.function}: {r.topic}[{r.partition}]@{r.offset} sent to "
                f"{self.cfg.dead_letter_topic} after {self.cfg.max_retries + 1} attempts: {error}"
            )
        pending = self._dlq.flush(10)
        if pending:
            raise RuntimeError(f"dead-letter topic {self.cfg.dead_letter_topic} did not take {pending} records")
        self.stats.dead_lettered += len(records)

    def _commit(self, consumer: Consumer, records: list[events.KafkaRecord]) -> None:
        last: dict[int, int] = {}
        for r in records:
            last[r.partition] = max(last.get(r.partition, -1), r.offset)
        offsets = [TopicPartition(self.cfg.topic, p, o + 1) for p, o in last.items()]
        consumer.commit(offsets=offsets, asynchronous=False)
