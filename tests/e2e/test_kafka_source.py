"""The local MSK event source: event shape, commit-after-success, retries, bisection, DLQ."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import KafkaMskEventModel
from confluent_kafka import Consumer, Producer, TopicPartition

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
