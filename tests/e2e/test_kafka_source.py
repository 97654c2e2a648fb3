"""The local MSK event source: event shape, commit-after-success, retries, bisection, DLQ."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import KafkaMskEventModel
from confluent_kafka import Consumer, Producer, TopicPartition
from tradeplane_local.host import FunctionConfig, FunctionHost
from tradeplane_local.kafka_source import KafkaEventSource, SourceConfig

pytestmark = pytest.mark.e2e


def _produce(bootstrap: str, topic: str, items: list[tuple[str, str]], partition: int | None = None) -> None:
    p = Producer({"bootstrap.servers": bootstrap})
    for key, value in items:
        kw: dict[str, Any] = {"partition": partition} if partition is not None else {}
        p.produce(topic, key=key.encode(), value=value.encode(), headers=[("correlation_id", b"c-1")], **kw)
    assert p.flush(10) == 0


def _batches(sink: Path) -> list[dict[str, Any]]:
    if not sink.exists():
        return []
    return [json.loads(line) for line in sink.read_text().splitlines()]


def _wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in got}
    finally:
        c.close()


def _values(sink: Path) -> list[str]:
    return [v for b in _batches(sink) for v in b["values"]]


def test_record_arrives_as_valid_msk_event(fixture_runtime, kafka_bootstrap: str, sink_file: Path) -> None:  # type: ignore[no-untyped-def]
    _produce(kafka_bootstrap, "events", [("AAPL", "hello-1")], partition=1)
    _wait_for(lambda: "hello-1" in _values(sink_file))
    batch = next(b for b in _batches(sink_file) if "hello-1" in b["values"])
    model = KafkaMskEventModel.model_validate(batch["event"])  # what Powertools' parser accepts
    assert model.eventSource == "aws:kafka"
    records = model.records["events-1"]
    assert records[0].topic == "events" and records[0].partition == 1
    assert records[0].key == b"AAPL"
    assert records[0].value == "hello-1"
    assert records[0].headers == [{"correlation_id": b"c-1"}]


def test_failing_batch_is_not_committed_and_is_delivered_again(
    fixture_runtime,
    kafka_bootstrap: str,
    sink_file: Path,  # type: ignore[no-untyped-def]
) -> None:
    _produce(kafka_bootstrap, "events", [("K", "flaky-1")], partition=0)
    _wait_for(lambda: _values(sink_file).count("flaky-1") >= 2)
    assert _values(sink_file).count("flaky-1") == 2  # failed once, redelivered once, then succeeded
    source = next(s for s in fixture_runtime.sources if s.cfg.function == "consumer")
    assert source.stats.failed_invocations >= 1
    _wait_for(lambda: _committed(kafka_bootstrap, "test-consumer", "events", 2)[0] >= 1)


def test_offset_stays_uncommitted_while_the_batch_fails(
    fixture_runtime,
    kafka_bootstrap: str,
    sink_file: Path,  # type: ignore[no-untyped-def]
) -> None:
    source = next(s for s in fixture_runtime.sources if s.cfg.function == "consumer")
    before = _committed(kafka_bootstrap, "test-consumer", "events", 2)[0]
    _produce(kafka_bootstrap, "events", [("P", "poison-A")], partition=0)
    # While its retries run (max_retries=1, backoff 0.2 s), the committed offset does not move.
    _wait_for(lambda: _values(sink_file).count("poison-A") >= 1)
    assert _committed(kafka_bootstrap, "test-consumer", "events", 2)[0] == before
    _wait_for(lambda: source.stats.dead_lettered >= 1)


def test_poison_record_is_isolated_and_dead_lettered(
    fixture_runtime,
    kafka_bootstrap: str,
    sink_file: Path,  # type: ignore[no-untyped-def]
) -> None:
    source = next(s for s in fixture_runtime.sources if s.cfg.function == "consumer")
    dead_before = source.stats.dead_lettered
    items = [("S", f"ok-{i}") for i in range(3)] + [("S", "poison-B")] + [("S", f"ok-{i}") for i in range(3, 6)]
    _produce(kafka_bootstrap, "events", items, partition=1)
    _wait_for(lambda: source.stats.dead_lettered == dead_before + 1)
    values = _values(sink_file)
    for i in range(6):
        assert f"ok-{i}" in values  # the good records around the poison one all got through
    # The dead letter carries the record and where it came from.
    c = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": "dlq-reader", "auto.offset.reset": "earliest"})
    c.assign([TopicPartition("dlq.consumer", p, 0) for p in range(2)])
    found = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(m.value() == b"poison-B" for m in found):
        msg = c.poll(0.2)
        if msg is not None and not msg.error():
            found.append(msg)
    c.close()
    dead = next(m for m in found if m.value() == b"poison-B")
    headers = dict(dead.headers())
    assert headers["tp-dlq-source-topic"] == b"events"
    assert headers["tp-dlq-function"] == b"consumer"
    assert b"poison record" in headers["tp-dlq-error"]
    _wait_for(lambda: _committed(kafka_bootstrap, "test-consumer", "events", 2)[1] > dead.offset())


# ---------------------------------------------------------------- issue 8: offsets, gaps, replays, poison records


class LosingConsumer(Consumer):
    """A real consumer on the real broker whose fetches lose some records, as a broker answering from the
    middle of a batch would: each offset in `lose` is dropped `times` times, then delivered."""

    def configure(self, partition: int, lose: set[int], times: int = 1) -> None:
        self.partition, self.lose = partition, dict.fromkeys(lose, times)

    def _lost(self, msg: Any) -> bool:
        if msg.error() or msg.partition() != self.partition or not self.lose.get(msg.offset()):
            return False
        self.lose[msg.offset()] -= 1
        return True

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]:
        return [m for m in super().consume(num_messages, timeout) if not self._lost(m)]

    def poll(self, timeout: float = -1) -> Any:
        while True:
            msg = super().poll(timeout)
            if msg is None or not self._lost(msg):
                return msg


class ReplayingConsumer(Consumer):
    """A real consumer that hands records again: every polled record twice, plus the one before it, as a
    broker resolving an offset short of the log end (Tansu's ListOffsets) would replay."""

    def __init__(self, conf: dict[str, Any]) -> None:
        super().__init__(conf)
        self.previous: Any = None
        self.pending: list[Any] = []

    def poll(self, timeout: float = -1) -> Any:
        msg = super().poll(timeout)
        if msg is not None and not msg.error():
            self.pending = [msg, *([self.previous] if self.previous is not None else [])]
            self.previous = msg
        return msg

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]:
        got = [m for m in super().consume(num_messages, timeout) if not m.error()]
        out, self.pending = [*self.pending, *(m for m in got for _ in range(2))], []
        self.previous = got[-1] if got else self.previous
        return out


def _source(  # type: ignore[no-untyped-def]
    host, bootstrap: str, topic: str, dlq: str, log: list[str], factory: Any = Consumer
) -> KafkaEventSource:
    cfg = SourceConfig(
        function=host.cfg.name,
        topic=topic,
        group=f"g-{topic}",
        batch_size=3,
        batching_window_ms=0,
        starting_position="TRIM_HORIZON",
        max_retries=1,
        bisect_on_error=True,
        dead_letter_topic=dlq,
        retry_backoff_s=0.05,
        max_concurrency=2,
    )
    return KafkaEventSource(cfg, bootstrap, host.invoke, log.append, factory)


def _delivered_in(sink: Path, prefix: str) -> list[str]:
    return [v for v in _values(sink) if v.startswith(prefix)]


def _run_source(source: KafkaEventSource, until, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    source.start()
    try:
        _wait_for(until, timeout)
    finally:
        source.stop()


def test_records_lost_by_a_fetch_are_fetched_again_and_never_committed_past(
    fixture_runtime, kafka_bootstrap: str, sink_file: Path, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic, dlq = new_topic("gap", partitions=1), new_topic("dlq", partitions=1)
    _produce(kafka_bootstrap, topic, [("k", f"gap-{i}") for i in range(20)], partition=0)
    log: list[str] = []

    def losing(conf: dict[str, Any]) -> Consumer:
        c = LosingConsumer(conf)
        c.configure(0, lose={4, 5, 6, 12})
        return c

    source = _source(fixture_runtime.hosts["consumer"], kafka_bootstrap, topic, dlq, log, losing)
    _run_source(source, lambda: source.stats.committed.get(0) == 20)
    # Every record reached the function once, in order; the gaps were seen, logged and fetched again.
    assert _delivered_in(sink_file, "gap-") == [f"gap-{i}" for i in range(20)]
    assert source.stats.gaps >= 1 and source.stats.gap_offsets_skipped == 0
    assert any("expected offset 4" in line and "fetching again from 4" in line for line in log)
    assert _committed(kafka_bootstrap, f"g-{topic}", topic, 1) == {0: 20}


def test_a_gap_that_stays_is_skipped_with_a_logged_counted_reason(
    fixture_runtime, kafka_bootstrap: str, sink_file: Path, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic, dlq = new_topic("hole", partitions=1), new_topic("dlq", partitions=1)
    _produce(kafka_bootstrap, topic, [("k", f"hole-{i}") for i in range(8)], partition=0)
    log: list[str] = []

    def losing(conf: dict[str, Any]) -> Consumer:
        c = LosingConsumer(conf)
        c.configure(0, lose={3}, times=1_000)  # never returned: compacted, deleted, a transaction marker
        return c

    source = _source(fixture_runtime.hosts["consumer"], kafka_bootstrap, topic, dlq, log, losing)
    _run_source(source, lambda: source.stats.committed.get(0) == 8)
    assert _delivered_in(sink_file, "hole-") == [f"hole-{i}" for i in range(8) if i != 3]
    assert source.stats.gap_offsets_skipped == 1
    assert sum("offsets 3..3 still missing" in line for line in log) == 1


def test_replayed_records_are_dropped_and_counted(
    fixture_runtime, kafka_bootstrap: str, sink_file: Path, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic, dlq = new_topic("replay", partitions=1), new_topic("dlq", partitions=1)
    _produce(kafka_bootstrap, topic, [("k", f"replay-{i}") for i in range(10)], partition=0)
    log: list[str] = []
    source = _source(fixture_runtime.hosts["consumer"], kafka_bootstrap, topic, dlq, log, ReplayingConsumer)
    _run_source(source, lambda: source.stats.committed.get(0) == 10)
    assert _delivered_in(sink_file, "replay-") == [f"replay-{i}" for i in range(10)]
    assert source.stats.replays_skipped >= 10


ECHOING_HANDLER = """
import base64

def handler(event, context):
    for recs in event["records"].values():
        for r in recs:
            value = base64.b64decode(r["value"]).decode()
            if value.startswith("bad"):
                raise ValueError(f"cannot parse {value}")
    return {"ok": True}
"""


@pytest.fixture
def echoing_host(tmp_path: Path) -> Iterator[FunctionHost]:
    """A function whose error message echoes the record it failed on (as careless handlers do)."""
    (tmp_path / "handler.py").write_text(ECHOING_HANDLER)
    cfg = FunctionConfig("echoing", tmp_path, "handler.handler", (), {}, 128, 10.0)
    host = FunctionHost(cfg, lambda *_: None)
    yield host
    host.shutdown()


def test_poison_record_is_logged_once_without_its_payload(
    echoing_host: FunctionHost, kafka_bootstrap: str, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic, dlq = new_topic("poison", partitions=1), new_topic("dlq", partitions=1)
    payload = "bad\nkafka source forged: line\x1b[31m" + "\u202e" + "x" * 5000
    _produce(kafka_bootstrap, topic, [("k", "ok-1"), ("k", payload), ("k", "ok-2")], partition=0)
    log: list[str] = []
    source = _source(echoing_host, kafka_bootstrap, topic, dlq, log)
    _run_source(source, lambda: source.stats.committed.get(0) == 3)
    assert source.stats.dead_lettered == 1 and source.stats.failed_invocations >= 3
    # One line for the dead-lettering, with where the record came from and the error class.
    lines = [line for line in log if "poison" in line]
    assert len(lines) == 1, lines
    line = lines[0]
    assert f"{topic}[0]@1" in line and "ValueError" in line and "after 2 attempts" in line
    # Input-built text is escaped and truncated: no control characters, no 5000-character payload.
    assert not any(ch in line for ch in "\n\x1b\u202e") and len(line) < 600
    assert "\\n" in line and "[5" in line  # the escaped newline; the original length is stated
    c = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": f"r-{dlq}"})
    c.assign([TopicPartition(dlq, 0, 0)])
    msg = c.poll(10)
    c.close()
    assert msg is not None and msg.value() == payload.encode()  # the record itself is kept whole
    headers = dict(msg.headers())
    assert headers["tp-dlq-source-offset"] == b"1" and headers["tp-dlq-error-class"] == b"ValueError"
    error = headers["tp-dlq-error"].decode("ascii")
    assert error.startswith("ValueError: cannot parse bad\\n") and len(error) < 300


# ---------------------------------------------------------------- issue 16: partitions side by side


def test_a_failing_partition_does_not_stall_the_others(
    fixture_runtime, kafka_bootstrap: str, sink_file: Path, new_topic
) -> None:  # type: ignore[no-untyped-def]
    """Partition 0 holds a poison record and retries for seconds; the five others, each with a batch in
    flight beside it, hand over every record they get, in order, before partition 0 gives up on its one."""
    partitions, per_partition = 6, 9
    topic, dlq = new_topic("side", partitions=partitions), new_topic("dlq", partitions=partitions)
    log: list[str] = []
    source = _source(fixture_runtime.hosts["consumer"], kafka_bootstrap, topic, dlq, log)
    # ~4.5 s of retries before the DLQ; a batch of every partition may be in flight at once.
    source.cfg = replace(source.cfg, max_retries=4, retry_backoff_s=0.3, max_concurrency=partitions)
    _produce(kafka_bootstrap, topic, [("k", "poison-side")], partition=0)
    healthy = range(1, partitions)
    source.start()
    try:
        _wait_for(lambda: "poison-side" in _values(sink_file))  # partition 0 is failing and backing off
        for p in healthy:
            _produce(kafka_bootstrap, topic, [("k", f"side-{p}-{i}") for i in range(per_partition)], partition=p)
        _wait_for(lambda: len(_delivered_in(sink_file, "side-")) == len(healthy) * per_partition)
        assert source.stats.dead_lettered == 0  # the others went through while partition 0 still retried
        _wait_for(lambda: source.stats.committed == {0: 1, **dict.fromkeys(healthy, per_partition)})
    finally:
        source.stop()
    for p in healthy:  # each once, in order
        assert _delivered_in(sink_file, f"side-{p}-") == [f"side-{p}-{i}" for i in range(per_partition)]
    assert source.stats.dead_lettered == 1


class GrowingConsumer(Consumer):
    """A real consumer whose metadata shows partition 1 only once `grown` is set: a topic that gained a
    partition. (Tansu 0.6 has no CreatePartitions; Kafka and Redpanda do.)"""

    grown = threading.Event()

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        meta = super().list_topics(topic, timeout)
        if not self.grown.is_set() and topic in meta.topics:
            meta.topics[topic].partitions.pop(1, None)
        return meta


def test_added_partitions_are_picked_up_without_a_restart(
    fixture_runtime, kafka_bootstrap: str, sink_file: Path, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic, dlq = new_topic("grow", partitions=2), new_topic("dlq", partitions=2)
    log: list[str] = []
    GrowingConsumer.grown.clear()
    source = _source(fixture_runtime.hosts["consumer"], kafka_bootstrap, topic, dlq, log, GrowingConsumer)
    source.cfg = replace(source.cfg, partition_refresh_s=0.3)
    source.start()
    try:
        _produce(kafka_bootstrap, topic, [("k", "grow-0")], partition=0)
        _produce(kafka_bootstrap, topic, [("k", "grow-1")], partition=1)  # written before the source sees it
        _wait_for(lambda: "grow-0" in _values(sink_file))
        assert source.stats.partitions == 1
        GrowingConsumer.grown.set()
        _wait_for(lambda: "grow-1" in _values(sink_file))
        _wait_for(lambda: source.stats.committed == {0: 1, 1: 1})
    finally:
        source.stop()
    assert source.stats.partitions == 2 and any("picked up new partitions [1]" in line for line in log)


def test_a_quiet_source_fetches_in_probes_and_loses_nothing(
    fixture_runtime,
    kafka_bootstrap: str,
    sink_file: Path,  # type: ignore[no-untyped-def]
) -> None:
    """A source with no record for a second gives up its partitions between fetches (`_pace`: the broker's
    idle CPU); records that arrive then, one or a burst, all reach the function once, in order."""
    source = next(s for s in fixture_runtime.sources if s.cfg.function == "consumer")
    probes = source.stats.idle_probes
    _wait_for(lambda: source.stats.idle_probes >= probes + 5)  # quiet: it is pacing
    _produce(kafka_bootstrap, "events", [("Q", "quiet-1")], partition=1)
    _wait_for(lambda: "quiet-1" in _values(sink_file))
    _wait_for(lambda: source.stats.idle_probes >= probes + 10)  # quiet again
    burst = [f"quiet-burst-{i}" for i in range(300)]
    _produce(kafka_bootstrap, "events", [("Q", v) for v in burst], partition=1)
    _wait_for(lambda: burst[-1] in _values(sink_file))
    assert [v for v in _values(sink_file) if v.startswith("quiet-")] == ["quiet-1", *burst]
