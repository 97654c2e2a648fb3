"""Accept a batch of ticks and stream them to `market.ticks`, keyed by symbol."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tradeplane.contracts.market import TICK_EVENT, Tick
from tradeplane.contracts.topics import MARKET_TICKS
from tradeplane.envelope import Envelope

from tp_etl.models import TickBatch

Publisher = Callable[[str, Iterable[tuple[str, Envelope]]], int]


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    event_ids: list[str]


def tick_event_id(source: str, tick: Tick) -> str:
    """Deterministic: the same tick sent twice (a client retry) gets the same id, so consumers drop the copy."""
    identity = f"{source}|{tick.symbol}|{tick.ts.isoformat()}|{tick.seq}|{tick.price}|{tick.size}"
    return "tick_" + hashlib.sha256(identity.encode()).hexdigest()[:32]


def ingest(batch: TickBatch, *, producer: str, correlation_id: str | None, publish: Publisher) -> IngestResult:
    envelopes = [
        Envelope.new(
            TICK_EVENT,
            {**tick.model_dump(mode="python"), "source": batch.source},
            producer=producer,
            correlation_id=correlation_id,
            id=tick_event_id(batch.source, tick),
            occurred_at=tick.ts,
        )
        for tick in batch.ticks
    ]
    publish(MARKET_TICKS, [(tick.symbol, env) for tick, env in zip(batch.ticks, envelopes, strict=True)])
    return IngestResult(len(envelopes), [e.id for e in envelopes])
