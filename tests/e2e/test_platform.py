"""The real manifest on the local platform: ticks over HTTP become bars in Postgres and on market.bars."""

from __future__ import annotations

import json
import time

import httpx
import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition
from tradeplane_local.devtokens import local_token

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_health_is_public_and_reports_dependencies(platform) -> None:  # type: ignore[no-untyped-def]
    _, info = platform
    r = httpx.get(f"{info['runtime']['gateway']}/v1/health", timeout=30)
    assert r.status_code == 200
    assert r.json()["checks"]["postgres"]["ok"] and r.json()["checks"]["redis"]["ok"]


def test_market_data_needs_a_token_with_scope(platform) -> None:  # type: ignore[no-untyped-def]
    state, info = platform
    url = f"{info['runtime']['gateway']}/v1/market-data"
    assert httpx.post(url, json={}, timeout=30).status_code == 401
    forged = local_token(state, subject="x", audience="core", scope=["market-data:write"])
    # A token for another audience authenticates no one: 401 with a body, from the route.
    assert httpx.post(url, json={}, headers={"Authorization": f"Bearer {forged}"}, timeout=30).status_code == 401
    reader = local_token(state, subject="x", scope=["portfolio:read"])
    r = httpx.post(
        url,
        headers={"Authorization": f"Bearer {reader}"},
        timeout=30,
        json={"source": "t", "ticks": [{"symbol": "A", "price": "1", "size": "1", "ts": "2026-11-24T10:00:00Z"}]},
    )
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


def test_invalid_ticks_get_a_problem_and_publish_nothing(platform) -> None:  # type: ignore[no-untyped-def]
    state, info = platform
    token = local_token(state, subject="feed", scope=["market-data:write"])
    r = httpx.post(
        f"{info['runtime']['gateway']}/v1/market-data",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "source": "t",
            "ticks": [
                {"symbol": "A", "price": "1", "size": "1", "ts": "2026-11-24T10:00:00Z"},
                {"symbol": "A", "price": "NaN", "size": "1", "ts": "2026-11-24T10:00:00Z"},
            ],
        },
        timeout=30,
    )
    assert r.status_code == 422
    body = r.json()
    assert body["status"] == 422 and any(e["loc"] == "body.ticks.1.price" for e in body["errors"])
    assert "NaN" not in r.text  # input values are never echoed


def test_ticks_become_bars_in_postgres_and_on_kafka(platform) -> None:  # type: ignore[no-untyped-def]
    state, info = platform
    token = local_token(state, subject="feed", scope=["market-data:write"])
    ticks = [
        {"symbol": "ZZTEST", "price": p, "size": "10", "ts": f"2026-11-24T09:{m}Z"}
        for p, m in [("100.5", "00:01"), ("101.25", "00:20"), ("99.75", "00:40"), ("100", "01:02")]
    ]
    for _ in range(2):  # a client retry: the same ticks twice
        r = httpx.post(
            f"{info['runtime']['gateway']}/v1/market-data",
            headers={"Authorization": f"Bearer {token}"},
            json={"source": "e2e", "ticks": ticks},
            timeout=30,
        )
        assert r.status_code == 202 and r.json()["accepted"] == 4
    dsn = info["bindings"]["db_dsn"]
    deadline = time.monotonic() + 30
    row = None
    while time.monotonic() < deadline:
        with psycopg.connect(dsn) as c:
            row = c.execute(
                "select open, high, low, close, volume, trade_count, closed from market.bars "
                "where symbol = 'ZZTEST' and interval = '1m' and bucket_start = '2026-11-24T09:00:00Z'"
            ).fetchone()
        if row and row[6]:
            break
        time.sleep(0.2)
    assert row is not None and [str(v) for v in row] == ["100.5", "101.25", "99.75", "99.75", "30", "3", "True"]
    consumer = Consumer({"bootstrap.servers": info["bindings"]["kafka_bootstrap"], "group.id": "e2e-bars"})
    parts = consumer.list_topics("market.bars", timeout=10).topics["market.bars"].partitions
    consumer.assign([TopicPartition("market.bars", p, 0) for p in parts])
    found = None
    deadline = time.monotonic() + 20
    while found is None and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is not None and not msg.error() and msg.key() == b"ZZTEST":
            found = json.loads(msg.value() or b"{}")
    consumer.close()
    assert found is not None and found["type"] == "market.bar" and found["data"]["close"] == "99.75"
