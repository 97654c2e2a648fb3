"""Kafka producer: one per container, idempotent, flushed before a handler returns.

    from tradeplane.kafka_producer import publish, flush

    publish("orders.events", account_id, envelope)
    flush()  # raises DeliveryError if any record was not acknowledged

Locally TP_KAFKA_SECURITY=plaintext; on MSK it is "iam" (SASL_SSL + OAUTHBEARER
with tokens from aws-msk-iam-sasl-signer). Message sizes are checked here
because some brokers (Tansu) do not enforce `max.message.bytes`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast, overload

from tradeplane.envelope import Envelope, kafka_headers
from tradeplane.settings import ConfigurationError, KafkaSettings, settings_for

if TYPE_CHECKING:
    from confluent_kafka import Message, Producer

__all__ = [
    "DeliveryError",
    "KafkaPublishError",
    "MessageTooLarge",
    "RecordColumns",
    "client_config",
    "close_producer",
    "discard_pending",
    "flush",
    "msk_iam_oauth_cb",
    "producer",
    "producer_config",
    "publish",
    "publish_events",
    "publish_many",
    "publish_serialized",
    "reachable",
]

HeaderList = Sequence[tuple[str, bytes | str]]
# Headers as produced: pairs, or a dict of bytes (which the cyclic collector does not track: bulk records use it).
Headers = list[tuple[str, bytes]] | dict[str, bytes]


# A bulk writer's record (key, value, headers). Headers as a dict of bytes (confluent-kafka takes it as it takes a
# list of pairs): a dict of bytes is not tracked by the cyclic collector, a list of tuples is, and with one per
# event the collector's full passes cost about as much as the rest of the ETL's columnar path.
SerializedRecord = tuple[bytes, bytes, dict[str, bytes]]


class RecordColumns(Sequence[SerializedRecord]):
    """Records `(key, value, headers)` kept as three lists, for bulk writers (`publish_serialized`).

    A list of tuples is tracked by the cyclic collector, tuple by tuple, and a bulk writer's block of ~17,000
    records set off its collections; three lists of bytes and dicts of bytes give it nothing to track, and
    iterating them through `zip` reuses one tuple. `publish_serialized` bounds their sizes from the lists."""

    __slots__ = ("headers", "keys", "values")

    def __init__(self, keys: list[bytes], values: list[bytes], headers: list[dict[str, bytes]]) -> None:
        if not len(keys) == len(values) == len(headers):
            raise ValueError("keys, values and headers must be of one length")
        self.keys, self.values, self.headers = keys, values, headers

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[SerializedRecord]:
        return zip(self.keys, self.values, self.headers, strict=True)

    @overload
    def __getitem__(self, index: int) -> SerializedRecord: ...
    @overload
    def __getitem__(self, index: slice) -> RecordColumns: ...
    def __getitem__(self, index: int | slice) -> SerializedRecord | RecordColumns:
        if isinstance(index, slice):
            return RecordColumns(self.keys[index], self.values[index], self.headers[index])
        return self.keys[index], self.values[index], self.headers[index]


class KafkaPublishError(RuntimeError):
    """Base class for publishing failures."""


class DeliveryError(KafkaPublishError):
    """At least one record was not acknowledged by the broker (or not within the flush timeout)."""

    def __init__(self, message: str, errors: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


class MessageTooLarge(KafkaPublishError, ValueError):  # noqa: N818 (name fixed by the API contract)
    """The record exceeds the configured maximum size (TP_KAFKA_MAX_MESSAGE_BYTES, default 1 MiB)."""


def msk_iam_oauth_cb(region: str) -> Any:
    """An `oauth_cb` for confluent-kafka that signs MSK IAM tokens for `region`."""

    def oauth_cb(_config: str | None) -> tuple[str, float]:
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

        token, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
        return token, expiry_ms / 1000

    return oauth_cb


def client_config(settings: KafkaSettings | None = None) -> dict[str, Any]:
    """Bootstrap and security settings shared by producers, consumers and admin clients."""
    settings = settings or settings_for(KafkaSettings)
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "client.id": settings.function or "tradeplane",
        "socket.keepalive.enable": True,
    }
    if settings.kafka_security == "iam":
        config.update(
            {
                "security.protocol": "SASL_SSL",
                "sasl.mechanisms": "OAUTHBEARER",
                "oauth_cb": msk_iam_oauth_cb(settings.aws_region),
            }
        )
    else:
        config["security.protocol"] = "PLAINTEXT"
    return config


def producer_config(settings: KafkaSettings | None = None) -> dict[str, Any]:
    """Full producer configuration (no network access; unit-testable)."""
    settings = settings or settings_for(KafkaSettings)
    config = client_config(settings)
    config.update(
        {
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "lz4",
            # Fail a record (and so the flush) well inside a Lambda timeout instead of retrying forever.
            "message.timeout.ms": 30_000,
            "request.timeout.ms": 10_000,
            # librdkafka's own ceiling; the exact limit is enforced in publish() before produce.
            "message.max.bytes": settings.kafka_max_message_bytes + 64 * 1024,
            # One producer-wide delivery callback, called for failures only: a Python call per
            # acknowledged record cost as much as producing it (bulk market data). flush() still
            # waits for every record, and the failures it reports are the same.
            "on_delivery": _on_delivery,
            "delivery.report.only.error": True,
        }
    )
    return config


class _State:
    def __init__(self) -> None:
        self.producer: Producer | None = None
        self.errors: list[str] = []
        self.lock = threading.Lock()


_state = _State()


def _on_delivery(err: Any, msg: Message) -> None:
    if err is not None:
        _state.errors.append(f"{msg.topic()}[{msg.partition()}] key={msg.key()!r}: {err}")


def producer() -> Producer:
    """The container's producer (created on first use)."""
    if _state.producer is None:
        with _state.lock:
            if _state.producer is None:
                from confluent_kafka import Producer

                p = Producer(producer_config())
                p.poll(0)  # serves oauth_cb so the first produce has a token
                _state.producer = p
    return _state.producer


def _record_size(key: bytes, value: bytes, headers: Headers) -> int:
    pairs = headers.items() if isinstance(headers, dict) else headers
    return len(key) + len(value) + sum(len(k) + len(v) for k, v in pairs)


POLL_EVERY = 1_000  # records queued between two polls (which serve failure reports and the oauth callback)


def _produce(p: Producer, topic: str, key: bytes, value: bytes, headers: Headers) -> None:
    while True:
        try:
            p.produce(topic, value=value, key=key, headers=cast("dict[str, str | bytes | None]", headers))
            break
        except BufferError:
            # Local queue full: serve delivery reports to make room, then retry.
            p.poll(0.5)


def _produce_all(p: Producer, topic: str, records: Iterable[tuple[bytes, bytes, Headers]]) -> int:
    count = 0
    produce: Any = p.produce  # Any: no cast() call per record for the headers' type
    for key, value, headers in records:
        try:  # inline: a call per record costs as much as this loop's own work (bulk market data)
            produce(topic, value=value, key=key, headers=headers)
        except BufferError:
            _produce(p, topic, key, value, headers)  # nothing was queued: wait for room, then queue it
        count += 1
        if count % POLL_EVERY == 0:
            p.poll(0)
    p.poll(0)
    return count


def _check_contract(settings: KafkaSettings, topic: str, key: str, envelope: Envelope) -> None:
    """The topic is one the manifest lets this function produce, and the key is the event's partition key.

    Tansu (and Kafka with auto-create) would silently create a mistyped topic, and a wrong key breaks
    per-key ordering downstream; both are caught here, before anything is queued.
    """
    if settings.kafka_produces is None:  # scripts and tests outside a function: no manifest binding
        return
    field = settings.kafka_produces.get(topic)
    if field is None:
        raise ConfigurationError(
            f"function {settings.function or '?'} may not produce to {topic!r}: not in its manifest `uses.produces`"
        )
    expected = envelope.data.get(field) if isinstance(envelope.data, dict) else None
    if expected is not None and str(expected) != key:
        raise ValueError(f"{topic} is keyed by {field}: key {key[:40]!r} is not the event's {field}")


def _prepared(
    settings: KafkaSettings, topic: str, key: str, envelope: Envelope, headers: list[tuple[str, bytes]]
) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    _check_contract(settings, topic, key, envelope)
    value, key_bytes = envelope.to_json(), key.encode()
    size = _record_size(key_bytes, value, headers)
    if size > settings.kafka_max_message_bytes:
        raise MessageTooLarge(
            f"{envelope.type} event {envelope.id} for {topic} is {size} bytes; "
            f"the limit is {settings.kafka_max_message_bytes} bytes"
        )
    return key_bytes, value, headers


def publish(
    topic: str,
    key: str,
    envelope: Envelope,
    *,
    headers: HeaderList | None = None,
    traceparent: str | None = None,
) -> None:
    """Queue one event (value = envelope JSON, headers = kafka_headers + `headers`). Call `flush()` before returning."""
    all_headers = kafka_headers(envelope, traceparent)
    all_headers += [(name, val.encode() if isinstance(val, str) else val) for name, val in headers or ()]
    record = _prepared(settings_for(KafkaSettings), topic, key, envelope, all_headers)  # checked before any network
    _produce_all(producer(), topic, [record])
    # Single publishes are business events (orders, cancels): each gets a line, so a trace shows it.
    # Bulk market data (publish_many) does not: one line per tick would dwarf every other log.
    _log_published([(topic, envelope)])


def publish_events(items: Sequence[tuple[str, str, Envelope]]) -> None:
    """Queue business events `(topic, key, envelope)` in order, all checked before any is queued, and log them
    (`_log_published`: an order's `new` and `fill` of one execution share a line, `event_ids`). Every line still
    carries the order's keys, so a trace by order id finds them all; a line costs ~55 us, as much as queueing
    the event."""
    settings = settings_for(KafkaSettings)
    prepared = [(topic, _prepared(settings, topic, key, env, kafka_headers(env))) for topic, key, env in items]
    p = producer()
    for topic, (key_bytes, value, headers) in prepared:
        _produce(p, topic, key_bytes, value, headers)
    p.poll(0)
    _log_published([(topic, env) for topic, _, env in items])


def _log_published(events: Sequence[tuple[str, Envelope]]) -> None:
    """One "event published" line per run of consecutive events with the same topic, type and domain keys:
    `event_id` for a run of one, `event_ids` (in order) for a longer run."""
    from tradeplane.observability import domain_keys, logger

    runs: list[tuple[tuple[str, str, dict[str, str]], list[str]]] = []
    for topic, env in events:
        line = (topic, env.type, domain_keys(env.data))
        if runs and runs[-1][0] == line:
            runs[-1][1].append(env.id)
        else:
            runs.append((line, [env.id]))
    for (topic, event_type, keys), ids in runs:
        named: dict[str, Any] = {"event_id": ids[0]} if len(ids) == 1 else {"event_ids": ids}
        logger.info("event published", extra={**named, "event_type": event_type, "topic": topic, **keys})


def publish_many(topic: str, items: Iterable[tuple[str, Envelope]], *, traceparent: str | None = None) -> int:
    """Queue many events (each `(key, envelope)`); returns how many. All are checked before any is queued."""
    settings = settings_for(KafkaSettings)
    prepared = [_prepared(settings, topic, key, env, kafka_headers(env, traceparent)) for key, env in items]
    return _produce_all(producer(), topic, prepared)


def publish_serialized(
    topic: str, records: Sequence[tuple[bytes, bytes, Headers]], *, max_header_bytes: int | None = None
) -> int:
    """Queue records `(key, value, headers)` whose values are already envelope JSON (bulk market data that a
    fast path wrote without building envelopes); returns how many. The topic and every size are checked
    before any is queued; that each key is its event's key field is the writer's guarantee (it sets both
    from one value), since checking it here would mean parsing every value again. A writer whose headers
    are all within a known size says so (`max_header_bytes`): then the largest key and value are checked
    against the limit together with it, in C, instead of adding up each record's headers in Python."""
    settings = settings_for(KafkaSettings)
    if settings.kafka_produces is not None and topic not in settings.kafka_produces:
        raise ConfigurationError(
            f"function {settings.function or '?'} may not produce to {topic!r}: not in its manifest `uses.produces`"
        )
    limit = settings.kafka_max_message_bytes
    if not records:
        return 0
    bound = None
    if max_header_bytes is not None:
        keys, values = (
            (records.keys, records.values)
            if isinstance(records, RecordColumns)
            else (map(itemgetter(0), records), map(itemgetter(1), records))
        )
        bound = max(map(len, keys)) + max(map(len, values)) + max_header_bytes
    if bound is None or bound > limit:
        for key, value, headers in records:
            if (size := _record_size(key, value, headers)) > limit:
                raise MessageTooLarge(f"a record for {topic} is {size} bytes; the limit is {limit} bytes")
    return _produce_all(producer(), topic, records)


def flush(timeout: float = 10.0) -> None:
    """Wait until every queued record is acknowledged; raise DeliveryError if any failed or timed out."""
    p = _state.producer
    if p is None:
        return
    remaining = p.flush(timeout)
    errors, _state.errors = _state.errors, []
    if remaining:
        raise DeliveryError(
            f"{remaining} record(s) still unacknowledged after {timeout}s"
            + (f"; {len(errors)} failed: {errors[:5]}" if errors else ""),
            errors,
        )
    if errors:
        raise DeliveryError(f"{len(errors)} record(s) failed delivery: {errors[:5]}", errors)


def reachable(timeout: float = 3.0) -> bool:
    """Whether the cluster answers a metadata request within `timeout`: checked before publishing a batch
    that must not go out in part (an unreachable broker would otherwise only show at `flush()`)."""
    from confluent_kafka import KafkaException

    try:
        producer().list_topics(timeout=timeout)
    except KafkaException:
        return False
    return True


def discard_pending() -> int:
    """Drop records still queued locally after a failed flush, so they cannot go out later in part;
    returns how many were queued. (Records already sent may still be acknowledged: ids make them safe.)"""
    p = _state.producer
    if p is None:
        return 0
    queued = len(p)
    p.purge(in_queue=True, in_flight=False)
    p.poll(0)  # serve the purged records' delivery reports
    _state.errors = []
    return queued


def close_producer(timeout: float = 5.0) -> None:
    """Flush (best effort) and drop the producer (tests); the next call builds a new one."""
    with _state.lock:
        p, _state.producer = _state.producer, None
        _state.errors = []
    if p is not None:
        p.flush(timeout)
