"""A file in, through the real servers: ingest_s3 (moto S3, Tansu), then bar_aggregator (Postgres, Redis).

The expected events land on both topics in key order, bars are stored, the latest price is in
Redis, and the same file twice changes nothing downstream.
"""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
import psycopg
import pytest
import redis
from confluent_kafka import Consumer, TopicPartition
from support.handlers import LambdaContext, load_handler
from tradeplane.contracts.topics import MARKET_BARS, MARKET_TICKS
from tradeplane_local import events
from tradeplane_tools.manifest import Bindings
from tradeplane_tools.migrate import apply_migrations

pytestmark = pytest.mark.integration

BUCKET = "tradeplane-local-market-data"
TRADES = (
    "timestamp,symbol,price,size\n"
    "2026-11-24T14:30:01Z,ZZA,10,1\n"
    "2026-11-24T14:30:02Z,ZZB,20,2\n"
    "2026-11-24T14:30:30Z,ZZA,12,3\n"
    "2026-11-24T14:30:30Z,ZZA,12,3\n"  # exact duplicate: dropped
    "2026-11-24T14:31:05Z,ZZA,11,4\n"
    "2026-11-24T14:31:06Z,ZZB,-5,1\n"  # rejected
    "2026-11-24T14:31:07Z,ZZB,21,1\n"
)
BARS = "Date,Open,High,Low,Close,Volume\n2026-11-20,10,12,9,11,1000\n2026-11-23,11,13,10,12,900\n"


@pytest.fixture(scope="module")
def dsn(pg_dsn: str) -> str:
    apply_migrations(pg_dsn)
    return pg_dsn


@pytest.fixture
def s3(aws_env: str) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


def handler(name: str, monkeypatch: pytest.MonkeyPatch, **bindings: Any) -> ModuleType:
    return load_handler(name, monkeypatch, Bindings(stage="local", bucket_names={"market-data": BUCKET}, **bindings))


def s3_event(key: str) -> dict[str, Any]:
    record = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": BUCKET},
              "object": {"key": key}}}  # fmt: skip
    return {"Records": [events.complete_s3_record(record)]}


def read_topic(bootstrap: str, topic: str, symbols: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """Every record of `symbols` on `topic` as (key, envelope), in partition order."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "t-file", "enable.auto.commit": False})
    meta = consumer.list_topics(topic, timeout=10)
    consumer.assign([TopicPartition(topic, p, 0) for p in meta.topics[topic].partitions])
    out: list[tuple[str, dict[str, Any]]] = []
    idle = 0
    while idle < 20:
        msg = consumer.poll(0.1)
        if msg is None or msg.error():
            idle += 1
            continue
        idle = 0
        key = (msg.key() or b"").decode()
        if key in symbols:
            out.append((key, json.loads(msg.value())))
    consumer.close()
    return out


def test_file_in_events_out_bars_stored_price_cached_and_a_replay_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, s3: Any, kafka_bootstrap: str, dsn: str, redis_url: str
) -> None:
    s3.put_object(Bucket=BUCKET, Key="raw/vendor/trades.csv.gz", Body=gzip.compress(TRADES.encode()))
    s3.put_object(Bucket=BUCKET, Key="raw/vendor/ZZC_daily.csv", Body=BARS.encode())
    ingest = handler("ingest_s3", monkeypatch, kafka_bootstrap=kafka_bootstrap, db_dsn=dsn)
    for key in ("raw/vendor/trades.csv.gz", "raw/vendor/ZZC_daily.csv"):
        assert ingest.handler(s3_event(key), LambdaContext("ingest_s3"))["objects"][0]["outcome"] == "done"
    report = json.loads(s3.get_object(Bucket=BUCKET, Key="reports/vendor/trades.csv.gz.json")["Body"].read())
    assert report["accepted_by_kind"] == {"trades": 5} and report["dropped"] == 1
    assert [(r["line"], r["field"]) for r in report["rejections"]] == [(7, "price")]

    ticks = read_topic(kafka_bootstrap, MARKET_TICKS, {"ZZA", "ZZB"})
    by_key = {k: [env["data"]["price"] for kk, env in ticks if kk == k] for k in ("ZZA", "ZZB")}
    assert by_key == {"ZZA": ["10", "12", "11"], "ZZB": ["20", "21"]}  # in key order
    bars = read_topic(kafka_bootstrap, MARKET_BARS, {"ZZC"})
    assert [(env["data"]["interval"], env["data"]["close"]) for _, env in bars] == [("1d", "11"), ("1d", "12")]

    # The same file again: the same ids; the aggregator applies each tick once.
    assert (
        ingest.handler(s3_event("raw/vendor/trades.csv.gz"), LambdaContext("ingest_s3"))["objects"][0]["published"] == 5
    )
    again = read_topic(kafka_bootstrap, MARKET_TICKS, {"ZZA", "ZZB"})
    assert len(again) == 10 and {e["id"] for _, e in again} == {e["id"] for _, e in ticks}

    aggregator = handler(
        "bar_aggregator", monkeypatch, kafka_bootstrap=kafka_bootstrap, db_dsn=dsn, redis_url=redis_url
    )
    records = [events.KafkaRecord(MARKET_TICKS, 0, i, 0, k.encode(), json.dumps(env).encode())
               for i, (k, env) in enumerate(again)]  # fmt: skip
    result = aggregator.handler(events.msk_event(records, kafka_bootstrap), LambdaContext("bar_aggregator"))
    assert result["applied"] == 5 and result["duplicates"] == 5
    with psycopg.connect(dsn) as conn:
        stored = conn.execute(
            "select symbol, interval, volume, trade_count from market.bars where symbol like 'ZZ_' "
            "and interval in ('1m', '1d') order by symbol, bucket_start"
        ).fetchall()
    assert [(s, i, Decimal(v), n) for s, i, v, n in stored] == [
        ("ZZA", "1m", Decimal(4), 2), ("ZZA", "1m", Decimal(4), 1), ("ZZB", "1m", Decimal(2), 1),
        ("ZZB", "1m", Decimal(1), 1), ("ZZC", "1d", Decimal(1000), 0), ("ZZC", "1d", Decimal(900), 0),
    ]  # fmt: skip
    assert redis.Redis.from_url(redis_url).hget("px:ZZA", "p") == b"11"
    with psycopg.connect(dsn) as conn:  # the configured larger intervals hold the same trades
        hourly = conn.execute("select volume, trade_count from market.bars where symbol = 'ZZA' and interval = '1h'")
        assert [(Decimal(v), n) for v, n in hourly.fetchall()] == [(Decimal(8), 3)]
