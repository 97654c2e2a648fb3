"""Backtest jobs and sweeps through the whole local platform: the gateway, the route functions, the local
Lambda Invoke (backtest_worker) and the local Step Functions path (sweep_cell, sweep_finish)."""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from tradeplane_local.admin import paper_account

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

T0 = datetime(2025, 1, 6, tzinfo=UTC)
BARS = 240  # daily bars: metrics annualise over most of a year


def _store_bars(dsn: str, symbol: str) -> None:
    """Closed daily bars of a slow wave: moving averages cross several times."""
    rows = []
    for i in range(BARS):
        close = Decimal(100 + 10 * math.sin(i / 12)).quantize(Decimal("0.01"))
        rows.append((symbol, "1d", T0 + timedelta(days=i), close, close + 1, close - 1, close, 1000, True))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.cursor().executemany(
            """insert into market.bars (symbol, interval, bucket_start, open, high, low, close, volume, closed)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            rows,
        )


def _poll(client: httpx.Client, path: str, timeout: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(path).json()
        if body["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return dict(body)
        time.sleep(0.5)


def test_backtest_job_and_sweep_end_to_end(platform) -> None:  # type: ignore[no-untyped-def]
    state, info = platform
    env = paper_account(state, Decimal("10000"))
    headers = {"APCA-API-KEY-ID": env["APCA_API_KEY_ID"], "APCA-API-SECRET-KEY": env["APCA_API_SECRET_KEY"]}
    symbol = "ZBT" + uuid.uuid4().hex[:4].upper()
    _store_bars(info["bindings"]["db_dsn"], symbol)
    base = {
        "type": "ma_crossover",
        "params": {"fast": 3, "slow": 12},
        "symbol": symbol,
        "timeframe": "1d",
        "start": T0.isoformat(),
        "end": (T0 + timedelta(days=BARS)).isoformat(),
        "cash": "10000",
        "commission_bps": "1",
    }
    with httpx.Client(base_url=info["runtime"]["gateway"], headers=headers, timeout=60) as client:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        queued = client.post("/v1/backtests", json=base, headers=key)
        assert queued.status_code == 202, queued.text
        again = client.post("/v1/backtests", json=base, headers=key)
        assert again.status_code == 200 and again.json()["id"] == queued.json()["id"]
        job = _poll(client, f"/v1/backtests/{queued.json()['id']}")
        assert job["status"] == "succeeded", job
        metrics = job["result"]["metrics"]
        assert metrics["bars"] == BARS and metrics["trades"] >= 1
        assert job["result"]["equity_curve"] and job["result"]["trades"]
        report = client.get(f"/v1/backtests/{job['id']}/report")
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
        assert "<svg" in report.text and symbol in report.text

        empty = client.post("/v1/backtests", json={**base, "symbol": "ZNOBARS"})
        assert _poll(client, f"/v1/backtests/{empty.json()['id']}")["error"].startswith("no closed 1d bars")

        sweep = client.post(
            "/v1/sweeps", json={"base": base, "grid": {"fast": [2, 3, 5], "slow": [10, 20]}, "rank_by": "sharpe"}
        )
        assert sweep.status_code == 202, sweep.text
        done = _poll(client, f"/v1/sweeps/{sweep.json()['id']}", timeout=180)
        assert done["status"] == "succeeded" and done["cells"] == 6 and done["completed"] == 6, done
        ranked = [r["metrics"]["sharpe"] for r in done["results"]]
        assert [r["rank"] for r in done["results"]] == [1, 2, 3, 4, 5, 6]
        known = [float(s) for s in ranked if s is not None]
        assert known == sorted(known, reverse=True)
        assert {(r["params"]["fast"], r["params"]["slow"]) for r in done["results"]} == {
            (f, s) for f in (2, 3, 5) for s in (10, 20)
        }
        # The same cell's result matches a single backtest of those parameters.
        best = done["results"][0]
        single = client.post("/v1/backtests", json={**base, "params": {**base["params"], **best["params"]}})
        alone = _poll(client, f"/v1/backtests/{single.json()['id']}")["result"]["metrics"]
        assert alone["sharpe"] == best["metrics"]["sharpe"] and alone["final_equity"] == best["metrics"]["final_equity"]

        other = paper_account(state, Decimal("10000"))
        stranger = {"APCA-API-KEY-ID": other["APCA_API_KEY_ID"], "APCA-API-SECRET-KEY": other["APCA_API_SECRET_KEY"]}
        assert client.get(f"/v1/backtests/{job['id']}", headers=stranger).status_code == 404
        assert client.get(f"/v1/sweeps/{done['id']}", headers=stranger).status_code == 404
