"""tradeplane.kafka against the real broker: publish, flush, consume with assign() and timeouts."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from tradeplane import kafka_producer
from tradeplane.envelope import Envelope, read_headers

pytestmark = pytest.mark.integration


def consume_all(bootstrap: str, topic: str, partitions: int, expected: int, timeout_s: float = 15.0) -> list[Any]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "test-" + topic,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        messages: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while len(messages) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            messages.append(msg)
        return messages
    finally:
        consumer.close()


@pytest.fixture
def configured(kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TP_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("TP_FUNCTION", "ingest_http")
    return kafka_bootstrap


def test_publish_flush_consume(configured: str, new_topic: Callable[..., str]) -> None:
    topic = new_topic("market.ticks")
    env = Envelope.new(
        "market.tick", {"symbol": "AAPL", "price": Decimal("189.25")}, producer="ingest_http", correlation_id="c-1"
    )
    kafka_producer.publish(topic, "AAPL", env, traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    kafka_producer.flush(timeout=10)

    [msg] = consume_all(configured, topic, 1, 1)
    assert msg.key() == b"AAPL"
    got = Envelope.from_json(msg.value())
    assert got.id == env.id and got.type == "market.tick" and got.correlation_id == "c-1"
    assert got.data == {"symbol": "AAPL", "price": "189.25"}
    headers = read_headers(msg.headers())
    assert headers == {
        "correlation_id": "c-1",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "type": "market.tick",
        "id": env.id,
    }


def test_publish_many_keeps_per_key_order(configured: str, new_topic: Callable[..., str]) -> None:
    topic = new_topic("orders.events", partitions=3)
    items = [
        (f"acct-{i % 4}", Envelope.new("order.filled", {"seq": i, "qty": Decimal("1.5")}, producer="executor"))
        for i in range(200)
    ]
    assert kafka_producer.publish_many(topic, items) == 200
    kafka_producer.flush(timeout=10)

    messages = consume_all(configured, topic, 3, 200)
    assert len(messages) == 200  # nothing skipped
    by_key: dict[bytes, list[int]] = {}
    for msg in messages:
        by_key.setdefault(msg.key(), []).append(Envelope.from_json(msg.value()).data["seq"])
    assert sorted(by_key) == [b"acct-0", b"acct-1", b"acct-2", b"acct-3"]
    for seqs in by_key.values():
        assert seqs == sorted(seqs)
    # one key always lands on one partition
    partitions = {(m.key(), m.partition()) for m in messages}
    assert len(partitions) == 4


def test_producer_reused(configured: str) -> None:
    assert kafka_producer.producer() is kafka_producer.producer()


def test_oversized_message_rejected_before_sending(configured: str, new_topic: Callable[..., str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("TP_KAFKA_MAX_MESSAGE_BYTES", "2048")
    topic = new_topic("big")
    env = Envelope.new("market.tick", {"blob": "x" * 4096}, producer="ingest_http")
    with pytest.raises(kafka_producer.MessageTooLarge, match="limit is 2048"):
        kafka_producer.publish(topic, "k", env)
    with pytest.raises(kafka_producer.MessageTooLarge):
        kafka_producer.publish_many(topic, [("k", Envelope.new("market.tick", {}, producer="p")), ("k", env)])
    kafka_producer.flush(timeout=5)  # nothing was queued, nothing fails


def test_flush_raises_delivery_error_when_undeliverable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens on this port: the record times out and flush must raise, not return quietly.
    # message.timeout.ms is shortened so the test stays quick.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("TP_KAFKA_BOOTSTRAP", dead)
    original = kafka_producer.producer_config

    def quick(settings: Any = None) -> dict[str, Any]:
        cfg = original(settings)
        cfg["message.timeout.ms"] = 1500
        return cfg

    monkeypatch.setattr(kafka_producer, "producer_config", quick)
    kafka_producer.publish("orders.events", "k", Envelope.new("order.filled", {}, producer="p"))
    with pytest.raises(kafka_producer.DeliveryError) as info:
        kafka_producer.flush(timeout=10)
    assert info.value.errors and "orders.events" in info.value.errors[0]
    kafka_producer.flush(timeout=1)  # errors are reported once


def test_flush_timeout_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("TP_KAFKA_BOOTSTRAP", dead)
    kafka_producer.publish("orders.events", "k", Envelope.new("order.filled", {}, producer="p"))
    with pytest.raises(kafka_producer.DeliveryError, match="unacknowledged"):
        kafka_producer.flush(timeout=0.5)
