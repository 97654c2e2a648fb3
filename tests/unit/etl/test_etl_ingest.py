from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError
from tp_etl.bars import fold
from tp_etl.ingest import ingest, tick_event_id
from tp_etl.models import TickBatch
from tradeplane.contracts.market import Tick, tick_from_envelope
from tradeplane.envelope import Envelope


def tick(symbol: str = "AAPL", price: str = "10", size: str = "1", ts: str = "2026-11-24T10:00:05Z", **kw) -> Tick:  # type: ignore[no-untyped-def]
    return Tick.model_validate({"symbol": symbol, "price": price, "size": size, "ts": ts, **kw})


def test_tick_rejects_naive_time_negative_price_and_floats_stay_exact() -> None:
    with pytest.raises(ValidationError, match="UTC offset"):
        tick(ts="2026-11-24T10:00:05")
    with pytest.raises(ValidationError):
        tick(price="-1")
    assert tick(price="0.1").price == Decimal("0.1")
    assert tick(ts="2026-11-24T11:00:05+01:00").ts == datetime(2026, 11, 24, 10, 0, 5, tzinfo=UTC)


def test_ingest_publishes_keyed_by_symbol_with_deterministic_ids() -> None:
    sent: list[tuple[str, list[tuple[str, Envelope]]]] = []

    def publish(topic: str, items: Iterable[tuple[str, Envelope]]) -> int:
        sent.append((topic, list(items)))
        return len(sent[-1][1])

    batch = TickBatch(source="feed", ticks=[tick("AAPL"), tick("MSFT", seq=3)])
    first = ingest(batch, producer="p", correlation_id="c", publish=publish)
    again = ingest(batch, producer="p", correlation_id="c2", publish=publish)
    assert first.accepted == 2 and first.event_ids == again.event_ids  # a client retry maps to the same events
    topic, items = sent[0]
    assert topic == "market.ticks" and [k for k, _ in items] == ["AAPL", "MSFT"]
    env = items[1][1]
    assert env.type == "market.tick" and env.correlation_id == "c" and env.data["source"] == "feed"
    assert tick_from_envelope(Envelope.from_json(env.to_json())) == batch.ticks[1]
    assert tick_event_id("feed", batch.ticks[0]) != tick_event_id("other", batch.ticks[0])


def test_fold_takes_open_and_close_by_time_not_arrival() -> None:
    ticks = [
        tick(price="11", ts="2026-11-24T10:00:30Z"),
        tick(price="10", ts="2026-11-24T10:00:01Z"),
        tick(price="12", size="2", ts="2026-11-24T10:00:59Z"),
        tick(price="9", ts="2026-11-24T10:01:00Z"),
    ]
    first, second = fold(ticks)
    assert (first.open, first.high, first.low, first.close) == (Decimal(10), Decimal(12), Decimal(10), Decimal(12))
    assert first.volume == Decimal(4) and first.trade_count == 3
    assert second.bucket_start == datetime(2026, 11, 24, 10, 1, tzinfo=UTC) and second.close == Decimal(9)
