"""Send a batch of events out: bars into the bar store and every event to its topic, as one unit.

The bars are written in a database transaction that commits only after Kafka
acknowledged every event (flush), so a failure leaves neither stored bars nor an
acknowledged batch behind that a retry would not repeat with the same ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from psycopg import Connection
from tradeplane.contracts.market import Bar

from tp_etl import bar_store
from tp_etl.source_events import Batch, Outgoing, Record

Publisher = Callable[[str, Sequence[Outgoing]], int]
RecordPublisher = Callable[[str, Sequence[Record], int | None], int]  # topic, records, largest headers' bytes


class StreamUnavailableError(RuntimeError):
    """The broker did not answer, or did not acknowledge the batch; nothing in it counts as delivered."""


@dataclass(frozen=True)
class Delivery:
    """Where accepted events go (handlers bind the real producer and database)."""

    publish: Publisher
    flush: Callable[[], None]
    reachable: Callable[[], bool]
    discard: Callable[[], object]  # drop what a failed flush left queued
    transaction: Callable[[], AbstractContextManager[Connection[Any]]]
    # Records as published, for batches (`deliver_batches`); without it batches go through `publish` as objects.
    publish_records: RecordPublisher | None = None


def live_delivery() -> Delivery:
    """The container's producer and database pool (handlers call this once, at init)."""
    from tradeplane import db, kafka_producer

    return Delivery(
        publish=lambda topic, items: kafka_producer.publish_serialized(
            topic, [(o.key.encode(), o.value, o.headers()) for o in items]
        ),
        flush=kafka_producer.flush,
        reachable=kafka_producer.reachable,
        discard=kafka_producer.discard_pending,
        transaction=db.transaction,
        publish_records=lambda topic, records, header_bytes: kafka_producer.publish_serialized(
            topic, records, max_header_bytes=header_bytes
        ),
    )


def deliver(out: Sequence[Outgoing], delivery: Delivery) -> None:
    if not out:
        return
    by_topic: dict[str, list[Outgoing]] = {}
    for o in out:
        by_topic.setdefault(o.topic, []).append(o)
    bars: list[Bar] = [o.bar for o in out if o.bar is not None]
    _send(bars, lambda: [delivery.publish(topic, items) for topic, items in by_topic.items()], delivery)


def deliver_batches(batches: Sequence[Batch], delivery: Delivery) -> None:
    """`deliver` for batches: their records go to the producer as they are, with no object per event."""
    if not any(batches):
        return
    bars = [bar for batch in batches for bar in batch.bars]

    def publish() -> None:
        for batch in batches:
            if delivery.publish_records is not None:
                delivery.publish_records(batch.topic, batch.records, batch.header_bytes)
            else:
                delivery.publish(batch.topic, batch.outgoing())

    _send(bars, publish, delivery)


def _send(bars: list[Bar], publish: Callable[[], object], delivery: Delivery) -> None:
    from tradeplane.kafka_producer import KafkaPublishError

    if not delivery.reachable():
        raise StreamUnavailableError("the broker does not answer")
    try:
        if bars:
            with delivery.transaction() as conn:
                bar_store.store_imported(conn, bars)
                publish()
                delivery.flush()
        else:
            publish()
            delivery.flush()
    except KafkaPublishError as exc:
        delivery.discard()
        raise StreamUnavailableError(str(exc)) from None
