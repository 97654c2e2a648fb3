from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from unittest.mock import patch

import pytest
from pydantic import ValidationError
from tp_etl.bars import fold
from tp_etl.delivery import Delivery
from tp_etl.ingest import MAX_BODY_BYTES, RETRY_AFTER_S, IngestResult, ingest_request
from tp_etl.source_events import Outgoing
from tradeplane.contracts.market import Tick, tick_from_envelope
from tradeplane.envelope import Envelope
from tradeplane.kafka_producer import DeliveryError
from tradeplane.problems import Problem


def tick(symbol: str = "AAPL", price: str = "10", size: str = "1", ts: str = "2026-11-24T10:00:05Z", **kw) -> Tick:  # type: ignore[no-untyped-def]
    return Tick.model_validate({"symbol": symbol, "price": price, "size": size, "ts": ts, **kw})


def test_tick_rejects_naive_time_negative_price_and_floats_stay_exact() -> None:
    with pytest.raises(ValidationError, match="UTC offset"):
        tick(ts="2026-11-24T10:00:05")
    with pytest.raises(ValidationError):
        tick(price="-1")
    assert tick(price="0.1").price == Decimal("0.1")
    assert tick(ts="2026-11-24T11:00:05+01:00").ts == datetime(2026, 11, 24, 10, 0, 5, tzinfo=UTC)


class FakeDelivery:
    """Records publishes; `up=False` is a broker that does not answer, `fail_flush` one that fails mid-way."""

    def __init__(self, *, up: bool = True, fail_flush: bool = False) -> None:
        self.sent: list[tuple[str, str, Envelope]] = []
        self.stored: list[object] = []
        self.discarded = 0
        self.up, self.fail_flush = up, fail_flush

    def delivery(self) -> Delivery:
        @contextmanager
        def transaction() -> Iterator[object]:
            yield self

        return Delivery(publish=self.publish, flush=self.flush, reachable=lambda: self.up,
                        discard=self.discard, transaction=transaction)  # type: ignore[arg-type]  # fmt: skip

    def publish(self, topic: str, items: Sequence[Outgoing]) -> int:
        self.sent.extend((topic, o.key, o.envelope) for o in items)
        return len(items)

    def flush(self) -> None:
        if self.fail_flush:
            raise DeliveryError("1 record(s) failed delivery")

    def discard(self) -> int:
        self.discarded += 1
        return 0


JSON_TRADE = {"ts": "2026-11-24T14:30:00Z", "price": "1", "size": "1", "symbol": "A"}
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
CSV = "timestamp,symbol,price,size\n2026-11-24T14:30:00Z,aapl,10,1\n2026-11-24T14:30:01Z,MSFT,20,2\n"


def call(body: str, content_type: str = "text/csv", query: dict[str, str] | None = None,
         fake: FakeDelivery | None = None) -> IngestResult:  # fmt: skip
    fake = fake or FakeDelivery()
    with patch("tp_etl.delivery.bar_store.store_imported", lambda conn, bars: conn.stored.extend(bars)):  # type: ignore[attr-defined]
        return ingest_request(body, content_type, query if query is not None else {"source": "feed"}, fake.delivery(),
                              now=NOW, producer="p", correlation_id="c")  # fmt: skip


def test_csv_request_publishes_keyed_by_symbol_with_ids_from_body_and_line() -> None:
    fake = FakeDelivery()
    first = call(CSV, fake=fake)
    again = call(CSV, fake=fake)
    assert first.event_ids == again.event_ids and len(set(first.event_ids)) == 2  # a client retry: the same events
    assert [(t, k) for t, k, _ in fake.sent[:2]] == [("market.ticks", "AAPL"), ("market.ticks", "MSFT")]
    env = fake.sent[1][2]
    assert env.type == "market.tick" and env.correlation_id == "c" and env.data["source"] == "feed"
    assert tick_from_envelope(Envelope.from_json(env.to_json())).price == Decimal(20)
    other = call(CSV.replace("20,2", "20,3"))
    assert other.event_ids[0] != first.event_ids[0]  # another body is another source


def test_json_sections_trades_quotes_and_bars_go_to_their_topics_and_bars_to_the_store() -> None:
    fake = FakeDelivery()
    body = {
        "source": "feed",
        "symbol": "AAPL",
        "ticks": [{"ts": "2026-11-24T14:30:00Z", "price": 10.5, "size": 1}],
        "quotes": [{"t": "2026-11-24T14:30:00Z", "bp": "10.4", "bs": 1, "ap": "10.6", "as": 2}],
        "bars": [{"t": "2026-11-24T14:30:00Z", "o": 10, "h": 11, "l": 9, "c": 10.5, "v": 100}],
    }
    result = call(json.dumps(body), "application/json", {}, fake)
    assert result.report.accepted == {"trades": 1, "quotes": 1, "bars": 1}
    assert [(t, e.type) for t, _, e in fake.sent] == [
        ("market.ticks", "market.tick"), ("market.ticks", "market.quote"), ("market.bars", "market.bar")]  # fmt: skip
    assert fake.sent[0][2].data["price"] == "10.5"  # a JSON number stays exact (a decimal string on the wire)
    assert [b.symbol for b in fake.stored] == ["AAPL"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "content_type", "query", "status", "where"),
    [
        (CSV.replace(",10,1", ",-10,1"), "text/csv", {"source": "feed"}, 422, {"line": 2, "field": "price"}),
        ("timestamp,symbol,price,size,colour\n", "text/csv", {"source": "feed"}, 422, {"line": 1, "field": "colour"}),
        (CSV, "text/csv", {}, 422, None),  # no source
        (CSV, "text/csv", {"source": "feed", "tz": "Mars/Olympus"}, 422, None),
        (CSV.replace("2026-11-24T14:30:01Z", "2026-11-24T16:00:00Z"), "text/csv", {"source": "feed"}, 422,
         {"line": 3, "field": "timestamp"}),
        (json.dumps({"source": "feed", "trades": [{**JSON_TRADE, "size": "0"}]}),
         "application/json", {}, 422, {"line": 1, "field": "size", "loc": "body.trades.0.size"}),
        (json.dumps({"source": "feed", "rows": []}), "application/json", {}, 422, None),
        (json.dumps({"source": "feed", "trades": [{**JSON_TRADE, "s": 2}]}), "application/json", {}, 422,
         {"line": 1, "field": "size", "loc": "body.trades.0.size"}),
        (json.dumps({"source": "feed"}), "application/json", {}, 422, None),
        (json.dumps([1]), "application/json", {}, 422, None),
        ("x" * (MAX_BODY_BYTES + 1), "text/csv", {"source": "feed"}, 413, None),
        ("  ", "application/json", {}, 400, None),
    ],
    ids=["negative-price", "unknown-column", "no-source", "bad-zone", "future", "json-size-0", "json-unknown-member",
         "json-twice", "json-nothing", "json-list", "too-large", "empty"],
)  # fmt: skip
def test_refusals_name_line_and_field_and_publish_nothing(
    body: str, content_type: str, query: dict[str, str], status: int, where: dict[str, object] | None
) -> None:
    fake = FakeDelivery()
    with pytest.raises(Problem) as err:
        call(body, content_type, query, fake)
    assert err.value.status == status
    if where:
        assert any(where.items() <= e.items() for e in err.value.extensions["errors"]), err.value.extensions
    assert fake.sent == [] and fake.stored == []


def test_unreachable_broker_is_503_with_retry_after_and_nothing_published() -> None:
    fake = FakeDelivery(up=False)
    with pytest.raises(Problem) as err:
        call(CSV, fake=fake)
    assert err.value.status == 503 and err.value.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert fake.sent == []


def test_failed_flush_is_503_and_discards_what_is_still_queued() -> None:
    fake = FakeDelivery(fail_flush=True)
    with pytest.raises(Problem) as err:
        call(CSV, fake=fake)
    assert err.value.status == 503 and fake.discarded == 1


def test_duplicates_are_reported_not_refused() -> None:
    result = call(CSV + "2026-11-24T14:30:01Z,MSFT,20,2\n")
    assert result.report.dropped == 1 and len(result.event_ids) == 2
    assert result.report.notices[0].line == 4


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


def test_the_documented_json_body_is_what_the_parser_takes() -> None:
    from tp_etl.ingest_docs import MarketDataJson, request_body

    body = {
        "source": "feed",
        "symbol": "AAPL",
        "trades": [{"ts": "2026-11-24T14:30:00Z", "price": "10.5", "size": 1, "exchange": "Q", "seq": 3}],
        "quotes": [{"ts": 1795530600, "bid": 10.4, "bid_size": 1, "ask": "10.6", "ask_size": 2}],
        "bars": [{"ts": "2026-11-24", "open": 10, "high": 11, "low": 9, "close": 10.5, "volume": 100, "vwap": 10.2}],
    }
    MarketDataJson.model_validate(body)  # valid by the document
    assert call(json.dumps(body), "application/json", {}).report.accepted == {"trades": 1, "quotes": 1, "bars": 1}
    with pytest.raises(ValidationError):  # the document refuses what the parser refuses
        MarketDataJson.model_validate({**body, "kind": "trades"})
    with pytest.raises(Problem):
        call(json.dumps({**body, "kind": "trades"}), "application/json", {})
    document, schemas = request_body()
    assert set(document["content"]) == {"application/json", "text/csv"} and "TradeItem" in schemas
    assert call(document["content"]["text/csv"]["example"], "text/csv").report.total_accepted == 1
