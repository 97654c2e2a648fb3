"""Canonical events from cleaned rows, with ids derived from where each row came from.

An id is a hash of the source's identity (an S3 object's bucket, key and ETag, or
an HTTP request's feed name and body digest), the row's kind and its line, so
replaying the same file or request produces the same ids and consumers drop the
copies (`tradeplane.inbox`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC

from tradeplane.contracts.market import BAR_EVENT, QUOTE_EVENT, TICK_EVENT, Bar
from tradeplane.contracts.topics import MARKET_BARS, MARKET_TICKS
from tradeplane.envelope import Envelope

from tp_etl.cleaning import Clean

_TYPES = {"trades": ("tick", TICK_EVENT, MARKET_TICKS), "quotes": ("quote", QUOTE_EVENT, MARKET_TICKS),
          "bars": ("bar", BAR_EVENT, MARKET_BARS)}  # fmt: skip


def source_event_id(prefix: str, identity: str, kind: str, line: int) -> str:
    digest = hashlib.sha256(f"{identity}|{kind}|{line}".encode()).hexdigest()[:32]
    return f"{prefix}_{digest}"


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    key: str
    envelope: Envelope
    line: int
    bar: Bar | None = None  # bars also go to the bar store


def to_event(row: Clean, *, identity: str, source: str, producer: str, correlation_id: str | None) -> Outgoing:
    prefix, event_type, topic = _TYPES[row.kind]
    record = row.record
    # The contract models are flat and already checked (tp_etl.formats): their fields are the payload, and
    # the envelope needs no second validation (the hot path of every ingest: docs/decisions.md).
    data = {**record.__dict__, "source": source}
    if row.flags:
        data["flags"] = list(row.flags)
    bar = record if isinstance(record, Bar) else None
    envelope = Envelope.model_construct(
        id=source_event_id(prefix, identity, row.kind, row.line),
        type=event_type,
        version=1,
        occurred_at=(bar.bucket_start if bar else record.ts).astimezone(UTC),  # type: ignore[union-attr]
        correlation_id=correlation_id,
        producer=producer,
        data=data,
    )
    return Outgoing(topic, record.symbol, envelope, row.line, bar)
