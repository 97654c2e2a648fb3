"""The ETL handlers called directly with generated API Gateway and MSK events, against the real servers."""

from __future__ import annotations

import json
from types import ModuleType

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition
from support.handlers import LambdaContext, PublishSpy, load_handler
from tradeplane.contracts.topics import MARKET_BARS, MARKET_TICKS
from tradeplane.envelope import Envelope
from tradeplane_local import events
from tradeplane_tools.manifest import Bindings
from tradeplane_tools.migrate import apply_migrations

pytestmark = pytest.mark.integration

GOOD_TICK = {"symbol": "AAPL", "price": "190.10", "size": "5", "ts": "2026-11-24T14:30:01Z"}


@pytest.fixture
def ingest(monkeypatch: pytest.MonkeyPatch, kafka_bootstrap: str, bars_dsn: str) -> ModuleType:
    bindings = Bindings(stage="local", kafka_bootstrap=kafka_bootstrap, db_dsn=bars_dsn)
    return load_handler("ingest_http", monkeypatch, bindings)


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> PublishSpy:
    return PublishSpy(monkeypatch)


def post(module: ModuleType, body: bytes, *, content_type: str = "application/json", scope: str = "market-data:write",  # type: ignore[no-untyped-def]
         query: str = ""):  # fmt: skip
    req = events.HttpRequest("POST", "/v1/market-data", query, [("content-type", content_type)], body, "127.0.0.1")
    event = events.http_api_event(req, "POST /v1/market-data", authorizer_context={"sub": "u1", "scope": scope})
    result = module.handler(event, LambdaContext("ingest_http"))
    return result["statusCode"], json.loads(result["body"])


def _read_ids(bootstrap: str, wanted: set[str], topic: str = MARKET_TICKS) -> set[str]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "t-ingest", "enable.auto.commit": False})
    meta = consumer.list_topics(topic, timeout=10)
    consumer.assign([TopicPartition(topic, p, 0) for p in meta.topics[topic].partitions])
    seen: set[str] = set()
    for _ in range(200):
        msg = consumer.poll(0.05)
        if msg is not None and not msg.error():
            seen.add(json.loads(msg.value())["id"])
        if wanted <= seen:
            break
    consumer.close()
    return seen & wanted


def test_accepted_ticks_reach_kafka(ingest: ModuleType, published: PublishSpy, kafka_bootstrap: str) -> None:
    status, body = post(ingest, json.dumps({"source": "feed", "ticks": [GOOD_TICK]}).encode())
    assert status == 202 and body["accepted"] == 1 and body["accepted_by_kind"] == {"trades": 1}
    assert _read_ids(kafka_bootstrap, set(body["event_ids"])) == set(body["event_ids"])


BARS_CSV = b"Date,Open,High,Low,Close,Adj Close,Volume\n2026-11-20,10,12,9,11,11,1000\n2026-11-23,11,13,10,12,12,900\n"


def test_csv_bars_are_stored_and_streamed_and_a_replay_changes_nothing(
    ingest: ModuleType, published: PublishSpy, kafka_bootstrap: str, bars_dsn: str
) -> None:
    status, body = post(ingest, BARS_CSV, content_type="text/csv", query="source=vendor&symbol=ibm")
    assert status == 202 and body["accepted_by_kind"] == {"bars": 2}, body
    assert _read_ids(kafka_bootstrap, set(body["event_ids"]), MARKET_BARS) == set(body["event_ids"])
    again_status, again = post(ingest, BARS_CSV, content_type="text/csv", query="source=vendor&symbol=ibm")
    assert again_status == 202 and again["event_ids"] == body["event_ids"]  # same ids: consumers drop the copies
    with psycopg.connect(bars_dsn) as conn:
        rows = conn.execute(
            "select interval, bucket_start::date::text, open, close, volume, revision, closed from market.bars"
            " where symbol = 'IBM' order by bucket_start"
        ).fetchall()
    assert [tuple(str(v) for v in r) for r in rows] == [
        ("1d", "2026-11-20", "10", "11", "1000", "0", "True"),
        ("1d", "2026-11-23", "11", "12", "900", "0", "True"),
    ]


def test_csv_with_a_bad_row_names_line_and_field_and_stores_nothing(
    ingest: ModuleType, published: PublishSpy, bars_dsn: str
) -> None:
    bad = BARS_CSV + b"2026-11-24,10,9,12,11,11,5\n"
    status, problem = post(ingest, bad, content_type="text/csv", query="source=vendor&symbol=orcl")
    assert status == 422 and problem["errors"] == [{"line": 4, "field": "high", "reason": "is below the low"}]
    assert published.events == []
    with psycopg.connect(bars_dsn) as conn:
        assert conn.execute("select count(*) from market.bars where symbol = 'ORCL'").fetchone() == (0,)


def test_unreachable_broker_is_503_with_retry_after_and_nothing_stored(
    monkeypatch: pytest.MonkeyPatch, bars_dsn: str
) -> None:
    dead = load_handler(
        "ingest_http", monkeypatch, Bindings(stage="local", kafka_bootstrap="127.0.0.1:9", db_dsn=bars_dsn)
    )
    req = events.HttpRequest("POST", "/v1/market-data", "source=vendor&symbol=sap", [("content-type", "text/csv")],
                             BARS_CSV, "127.0.0.1")  # fmt: skip
    event = events.http_api_event(
        req, "POST /v1/market-data", authorizer_context={"sub": "u1", "scope": "market-data:write"}
    )
    result = dead.handler(event, LambdaContext("ingest_http"))
    assert result["statusCode"] == 503 and result["headers"]["Retry-After"] == "5"
    with psycopg.connect(bars_dsn) as conn:
        assert conn.execute("select count(*) from market.bars where symbol = 'SAP'").fetchone() == (0,)


def _ticks(**change: str) -> bytes:
    return json.dumps({"source": "feed", "ticks": [{**GOOD_TICK, **change}]}).encode()


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"<ticks/>", "text/xml", 415),
        (b'{"source": "feed"}', "text/plain", 415),
        (b"\xff\xfe{}", "application/json", 400),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "application/json", 400),
        (b'{"source": "feed", "ticks": [}', "application/json", 400),
        (_ticks(ts="0001-01-01T00:00:00+14:00"), "application/json", 422),
        (_ticks(ts="9999-12-31T23:59:59-01:00"), "application/json", 422),
        (_ticks(ts="1969-12-31T23:59:59Z"), "application/json", 422),
        (_ticks(ts="2999-01-01T00:00:00Z"), "application/json", 422),
        (_ticks(size="0"), "application/json", 422),
        (_ticks(price="-1"), "application/json", 422),
    ],
    ids=["xml", "text", "not-utf8", "nested-100k", "nested-40", "bad-json", "year-1", "year-9999", "pre-epoch",
         "future", "size-0", "negative-price"],
)  # fmt: skip
def test_refusals_are_4xx_and_publish_nothing(
    ingest: ModuleType, published: PublishSpy, body: bytes, content_type: str, status: int
) -> None:
    got, problem = post(ingest, body, content_type=content_type)
    assert got == status, problem
    assert problem["status"] == status and problem["instance"] == "/v1/market-data"
    assert published.events == []


def test_missing_scope_is_403_and_publishes_nothing(ingest: ModuleType, published: PublishSpy) -> None:
    status, problem = post(ingest, _ticks(), scope="market-data:read")
    assert status == 403 and "market-data:write" in problem["detail"]
    assert published.events == []


# --------------------------------------------------------------------------- bar_aggregator


@pytest.fixture(scope="module")
def bars_dsn(pg_dsn: str) -> str:
    apply_migrations(pg_dsn)
    return pg_dsn


@pytest.fixture
def aggregator(monkeypatch: pytest.MonkeyPatch, kafka_bootstrap: str, bars_dsn: str, redis_url: str) -> ModuleType:
    bindings = Bindings(stage="local", db_dsn=bars_dsn, kafka_bootstrap=kafka_bootstrap, redis_url=redis_url)
    return load_handler("bar_aggregator", monkeypatch, bindings)


def _tick_record(offset: int, tick: dict[str, str], event_id: str) -> events.KafkaRecord:
    envelope = Envelope.new("market.tick", {**tick, "source": "feed"}, producer="test", id=event_id)
    return events.KafkaRecord(MARKET_TICKS, 0, offset, 0, tick["symbol"].encode(), envelope.to_json())


def test_bar_aggregator_applies_once_and_sets_malformed_records_aside(
    aggregator: ModuleType, kafka_bootstrap: str, bars_dsn: str
) -> None:
    records = [
        _tick_record(0, {**GOOD_TICK, "symbol": "MSFT", "ts": "2026-11-24T14:30:01Z", "price": "10"}, "h-1"),
        _tick_record(1, {**GOOD_TICK, "symbol": "MSFT", "ts": "2026-11-24T14:30:30Z", "price": "12"}, "h-2"),
        events.KafkaRecord(MARKET_TICKS, 0, 2, 0, b"MSFT", b"not an envelope"),
        _tick_record(3, {**GOOD_TICK, "symbol": "MSFT", "ts": "2026-11-24T14:31:05Z", "price": "11"}, "h-3"),
    ]
    event = events.msk_event(records, kafka_bootstrap)
    first = aggregator.handler(event, LambdaContext("bar_aggregator"))
    assert first == {"applied": 3, "duplicates": 0, "published": 1}
    # A redelivered batch changes nothing: every tick is in the inbox already.
    again = aggregator.handler(event, LambdaContext("bar_aggregator"))
    assert again == {"applied": 0, "duplicates": 3, "published": 0}
    with psycopg.connect(bars_dsn) as conn:
        rows = conn.execute(
            "select open, high, low, close, trade_count from market.bars where symbol = 'MSFT' and interval = '1m'"
            " order by bucket_start"
        ).fetchall()
    assert [tuple(str(v) for v in row) for row in rows] == [
        ("10", "12", "10", "12", "2"),
        ("11", "11", "11", "11", "1"),
    ]


def test_bar_closer_closes_bars_due_by_the_clock(
    monkeypatch: pytest.MonkeyPatch, kafka_bootstrap: str, bars_dsn: str
) -> None:
    with psycopg.connect(bars_dsn) as conn:
        conn.execute(
            "insert into market.bars (symbol, interval, bucket_start, open, high, low, close, volume, trade_count,"
            " open_ts, close_ts) values ('QUIET', '1m', now() - interval '10 minutes', 1, 1, 1, 1, 1, 1,"
            " now() - interval '10 minutes', now() - interval '10 minutes'),"
            " ('QUIET', '1m', date_trunc('minute', now()) + interval '1 minute', 1, 1, 1, 1, 1, 1, now(), now())"
        )
    closer = load_handler("bar_closer", monkeypatch, Bindings(stage="local", db_dsn=bars_dsn,
                                                               kafka_bootstrap=kafka_bootstrap))  # fmt: skip
    first = closer.handler(events.scheduled_event("bar_closer"), LambdaContext("bar_closer"))
    again = closer.handler(events.scheduled_event("bar_closer"), LambdaContext("bar_closer"))
    assert first["closed"] >= 1 and again == {"closed": 0}
    with psycopg.connect(bars_dsn) as conn:
        rows = conn.execute("select closed from market.bars where symbol = 'QUIET' order by bucket_start").fetchall()
    assert rows == [(True,), (False,)]  # the bar still in progress stays open
