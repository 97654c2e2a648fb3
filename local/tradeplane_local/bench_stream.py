"""Streaming figures (issue 14), each beside a baseline taken in the same run.

- Fill -> client-received: a market order submitted through the whole local platform (gateway,
  outbox publish, executor), its `fill` trade update through `orders.events`, the local Kafka
  source, `trade_updates_fanout`, the gateway's `@connections` endpoint and the `/stream`
  WebSocket, timed from the update's own `timestamp` (the executor's commit time) to the moment
  the client reads the frame (one machine, one clock).
- Fan-out: the same with `FANOUT` clients of one account connected at once; each fill is timed
  to the first and to the last of them.
- Published -> received: from the fill record's Kafka CreateTime (execution's publish after its
  commit) to the client: streaming's own share, comparable with the baseline.
- Baseline: the local Kafka source's produce -> invoke latency on the same broker, measured the
  way `make bench` measures it for the gateway suite (the bench manifest's no-op consumer).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tradeplane_local.admin import paper_account
from tradeplane_local.bench_execution import events_consumer, priced_platform, wait_fill

FANOUT = 200
Row = Callable[..., None]


async def _client(url: str, paper: dict[str, str]) -> Any:
    import websockets

    ws = await websockets.connect(url, max_queue=None)
    auth = {"key_id": paper["APCA_API_KEY_ID"], "secret_key": paper["APCA_API_SECRET_KEY"]}
    await ws.send(json.dumps({"action": "authenticate", "data": auth}))
    await ws.recv()
    await ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
    await ws.recv()
    return ws


async def _fill_received(ws: Any, order_id: str, timeout_s: float = 15) -> tuple[float, float] | None:
    """(wall time the fill's frame arrived on `ws`, the fill's own timestamp); None when it did not come."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                frame = json.loads(await ws.recv())
                data = frame.get("data") or {}
                if data.get("event") == "fill" and data["order"]["id"] == order_id:
                    stamp = datetime.fromisoformat(data["timestamp"].replace("Z", "+00:00"))
                    return time.time(), stamp.timestamp()
    except TimeoutError:
        return None


def _published_at(consumer: Any, order_id: str) -> float | None:
    """When execution published the order's fill to `orders.events` (the record's CreateTime, seconds)."""
    msg = wait_fill(consumer, order_id, timeout=10)
    return None if msg is None else float(msg.timestamp()[1]) / 1000


def _submit(gateway: str, paper: dict[str, str]) -> str:
    conn = http.client.HTTPConnection(urlsplit(gateway).netloc, timeout=30)
    headers = {
        "APCA-API-KEY-ID": paper["APCA_API_KEY_ID"],
        "APCA-API-SECRET-KEY": paper["APCA_API_SECRET_KEY"],
        "Content-Type": "application/json",
    }
    body = {"symbol": "AAPL", "qty": "1", "side": "buy", "type": "market", "time_in_force": "day"}
    try:
        conn.request("POST", "/v2/orders", body=json.dumps(body), headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"POST /v2/orders: {resp.status} {data[:200]!r}")
        return str(json.loads(data)["id"])
    finally:
        conn.close()


@dataclass
class Timings:
    """Per fill, in ms: from the fill's timestamp and from its Kafka publish, to the first and last client."""

    fill_first: list[float] = field(default_factory=list)
    fill_last: list[float] = field(default_factory=list)
    published_first: list[float] = field(default_factory=list)
    published_last: list[float] = field(default_factory=list)
    missed: int = 0


async def _rounds(gateway: str, paper: dict[str, str], bootstrap: str, clients: int, orders: int) -> Timings:
    consumer = events_consumer(bootstrap, "bench-stream")
    url = gateway.replace("http://", "ws://") + "/stream"
    sockets = [await _client(url, paper) for _ in range(clients)]
    out = Timings()
    try:
        for _ in range(orders):
            order_id = await asyncio.to_thread(_submit, gateway, paper)
            got = await asyncio.gather(*(_fill_received(ws, order_id) for ws in sockets))
            published = await asyncio.to_thread(_published_at, consumer, order_id)
            seen = [g for g in got if g is not None]
            out.missed += len(got) - len(seen)
            if seen:
                first, last, stamp = min(g[0] for g in seen), max(g[0] for g in seen), seen[0][1]
                out.fill_first.append((first - stamp) * 1000)
                out.fill_last.append((last - stamp) * 1000)
                if published is not None:
                    out.published_first.append((first - published) * 1000)
                    out.published_last.append((last - published) * 1000)
            await asyncio.sleep(0.05)
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
        consumer.close()
    return out


def _produce_to_invoke(state: Path, bootstrap: str, messages: int) -> list[float]:
    from tradeplane_tools.manifest import load_manifest

    from tradeplane_local import provision
    from tradeplane_local.bench import BENCH_MANIFEST, _bench_runtime, _invoke_latencies

    provision.create_topics(bootstrap, load_manifest(BENCH_MANIFEST))
    runtime = _bench_runtime(state, bootstrap)
    try:
        return _invoke_latencies(runtime, bootstrap, messages)
    finally:
        runtime.stop()


def bench_stream(quick: bool, row: Row, header: Callable[[str], None]) -> None:
    from tradeplane_local.bench import pct

    orders, fanout_orders = (20, 10) if quick else (100, 30)
    header(f"Streaming: fill -> client-received (1 client, {orders} fills; {FANOUT} clients, {fanout_orders} fills)")
    with tempfile.TemporaryDirectory() as tmp, priced_platform(tmp) as (state, gateway, bindings):
        paper = paper_account(state, Decimal("1000000000"))
        bootstrap = bindings["kafka_bootstrap"]
        asyncio.run(_rounds(gateway, paper, bootstrap, 1, 3))  # cold starts outside the measurement
        single = asyncio.run(_rounds(gateway, paper, bootstrap, 1, orders))
        fanned = asyncio.run(_rounds(gateway, paper, bootstrap, FANOUT, fanout_orders))
        baseline = _produce_to_invoke(Path(tmp) / "noop", bootstrap, 50 if quick else 200)
    rows = (
        ("fill -> received, 1 client", single.fill_first, f"{single.missed} missed"),
        ("published -> received, 1 client", single.published_first, "from the Kafka record's CreateTime"),
        (f"fill -> first of {FANOUT}", fanned.fill_first, ""),
        (f"fill -> last of {FANOUT}", fanned.fill_last, f"{fanned.missed} frames missed"),
        (f"published -> last of {FANOUT}", fanned.published_last, ""),
    )
    for q in (0.5, 0.99):
        label, base = f"p{int(q * 100)}", pct(baseline, q)
        for name, values, note in rows:
            value = pct(values, q)
            row(f"{name} {label}", f"{value:.1f} ms", f"{base:.1f} ms", f"{value / max(base, 1e-6):.2f}x",
                "; ".join(x for x in ("baseline: Kafka produce -> invoke, same broker", note) if x))  # fmt: skip
