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
from tp_etl.source_events import Outgoing

Publisher = Callable[[str, Sequence[Outgoing]], int]


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
    )


def deliver(out: Sequence[Outgoing], delivery: Delivery) -> None:
    from tradeplane.kafka_producer import KafkaPublishError

    if not out:
        return
    if not delivery.reachable():
        raise StreamUnavailableError("the broker does not answer")
    by_topic: dict[str, list[Outgoing]] = {}
    for o in out:
        by_topic.setdefault(o.topic, []).append(o)
    bars: list[Bar] = [o.bar for o in out if o.bar is not None]
    try:
        if bars:
            with delivery.transaction() as conn:
                bar_store.store_imported(conn, bars)
                _publish(by_topic, delivery)
        else:
            _publish(by_topic, delivery)
    except KafkaPublishError as exc:
        delivery.discard()
        raise StreamUnavailableError(str(exc)) from None


def _publish(by_topic: dict[str, list[Outgoing]], delivery: Delivery) -> None:
    for topic, items in by_topic.items():
        delivery.publish(topic, items)
    delivery.flush()
