"""The demo: market data in over HTTPS-style API calls, through Kafka and Lambda functions, into bars.

It grows with the platform: today ticks -> ingest_http -> market.ticks ->
bar_aggregator -> Postgres + market.bars; orders
submitted through the API (an unchanged alpaca-py bot) -> orders.submitted ->
executor -> fills, positions, cash -> orders.events; a strategy trading replayed data
(strategy_runner on market.bars), then a backtest of the same bars.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tradeplane_local import log_cli, replica_reads, stack
from tradeplane_local.demo_data import show_history
from tradeplane_local.devtokens import local_token

SYMBOLS = {"AAPL": Decimal("190.00"), "MSFT": Decimal("415.00"), "NVDA": Decimal("135.00")}
MINUTES = 3


def synthetic_ticks(start: datetime, seed: int = 7) -> list[dict[str, str | int]]:
    """A seeded random walk: a few trades per symbol per second-ish, over MINUTES minutes."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    ticks: list[dict[str, str | int]] = []
    for symbol, price in SYMBOLS.items():
        for seq, second in enumerate(range(0, MINUTES * 60, 7), start=1):
            price = (price * (1 + Decimal(rng.uniform(-0.002, 0.002)))).quantize(Decimal("0.01"))
            ticks.append(
                {
                    "symbol": symbol,
                    "price": str(price),
                    "size": str(rng.randint(1, 50) * 10),
                    "ts": (start + timedelta(seconds=second)).isoformat().replace("+00:00", "Z"),
                    "seq": seq,
                }
            )
    return sorted(ticks, key=lambda t: str(t["ts"]))


def _step(text: str) -> None:
    print(f"\n== {text}")


def _consume(
    bootstrap: str,
    topic: str,
    keep: Callable[[dict[str, Any]], bool],
    done: Callable[[dict[str, dict[str, Any]]], bool],
    timeout: float,
) -> dict[str, dict[str, Any]]:
    """Envelopes on `topic` (every partition, from the start) that `keep` accepts, by id (a relayed copy has
    the id of the first), until `done` says so or the time is up."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "demo-viewer", "enable.auto.commit": False})
    meta = consumer.list_topics(topic, timeout=10)
    consumer.assign([TopicPartition(topic, p, 0) for p in meta.topics[topic].partitions])
    seen: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    try:
        while not done(seen) and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                env = json.loads(msg.value() or b"{}")
                if keep(env):
                    seen[env["id"]] = env
    finally:
        consumer.close()
    return seen


def _consume_bars(bootstrap: str, want: int, since: datetime, timeout: float = 30) -> list[dict[str, Any]]:
    """The bars of this run's window: an earlier run on the same state directory may have left bars open
    in Postgres, which this run's first ticks close and publish too."""

    until = since + timedelta(minutes=MINUTES)

    def in_window(env: dict[str, Any]) -> bool:
        if env["data"].get("interval", "1m") != "1m":
            return False  # the larger intervals bar_aggregator also builds (TP_BAR_INTERVALS)
        # Only the window's own minutes: bar_closer closes the closer ticks' minute by the clock.
        return since <= datetime.fromisoformat(env["data"]["bucket_start"].replace("Z", "+00:00")) < until

    bars = _consume(bootstrap, "market.bars", in_window, lambda seen: len(seen) >= want, timeout)
    return sorted(bars.values(), key=lambda e: (e["data"]["symbol"], e["data"]["bucket_start"]))


def _num(value: str | None) -> str:
    return "" if value is None else f"{Decimal(value).normalize():f}"


def _consume_trade_updates(bootstrap: str, timeout: float = 10) -> list[dict[str, Any]]:
    """This run's trade updates up to the first fill, in the order they were published (one account: one
    partition; the stores started empty)."""

    def filled(seen: dict[str, dict[str, Any]]) -> bool:
        return any(e["data"]["event"] == "fill" for e in seen.values())

    return list(_consume(bootstrap, "orders.events", lambda _env: True, filled, timeout).values())


def _show_confirmations(bootstrap: str) -> bool:
    """Print the trade updates the executor published for the bot's orders; True when a fill is among them."""
    _step("Confirmations on orders.events (Alpaca trade updates from the executor, consumed from Kafka)")
    updates = _consume_trade_updates(bootstrap)
    for env in updates:
        d, order = env["data"], env["data"]["order"]
        fill = f" {_num(d['qty'])} @ {_num(d['price'])}, position {_num(d['position_qty'])}" if d["price"] else ""
        what = f"{order['side']:<5}{_num(order['qty']):>4} {order['symbol']:<6}{order['type']:<8}"
        print(f"{d['event']:<10}{what}-> {order['status']}{fill}")
    return any(env["data"]["event"] == "fill" for env in updates)


def _alpaca_bot(state_dir: Path) -> int:
    """`tradeplane local paper-account`, then an unchanged alpaca-py bot in its own process."""
    import os
    import subprocess
    import sys

    from tradeplane_local.admin import paper_account

    _step('An Alpaca bot, unchanged: eval "$(tradeplane local paper-account --cash 100000)"')
    env = paper_account(state_dir, Decimal("100000"))
    for name, value in env.items():
        print(f"export {name}={value if name != 'APCA_API_SECRET_KEY' else value[:4] + '...'}")
    _step("python -m tradeplane_local.demo_bot (written for alpaca-py's TradingClient)")
    sys.stdout.flush()  # the bot writes to the same stdout: keep its lines after this heading
    return subprocess.run(
        [sys.executable, "-m", "tradeplane_local.demo_bot"], env={**os.environ, **env}, check=False
    ).returncode


def _trading_steps(state_dir: Path, bootstrap: str) -> int:
    """Orders from an unchanged alpaca-py bot, reads, an order's trace, then a strategy trading live."""
    if _alpaca_bot(state_dir) != 0:
        print("demo FAILED: the alpaca-py bot did not run, or its market order did not fill")
        return 1
    if not _show_confirmations(bootstrap):
        print("demo FAILED: no fill confirmation arrived")
        return 1
    _step("Reads and the streaming replica (database checkouts per function, from their metrics)")
    print("\n".join(replica_reads.section(state_dir)))
    if log_cli.show_order_trace(state_dir) != 0:
        print("demo FAILED: the order's trace was not found in the aggregated logs")
        return 1
    _step("Strategies: a moving-average crossover trading SPY live, then a backtest of the same bars")
    from tradeplane_local.demo_strategy import show_strategy

    if not show_strategy(state_dir):
        print("demo FAILED: the strategy raised no signal, or its orders did not fill as the backtest did")
        return 1
    return 0


def run_demo(state_dir: Path, *, keep: bool = False, reuse: bool = False) -> int:
    started_here = False
    if not (reuse and stack.read_state(state_dir.resolve())):
        _step("Starting the local platform (PostgreSQL, Redis, Kafka/Tansu, moto, every function)")
        # Every demo starts from empty stores: its ticks have deterministic ids, so a second run on the
        # data of the first would (rightly) be absorbed as duplicates and show nothing new.
        stack.wipe(state_dir)
        t0 = time.perf_counter()
        report = stack.up(stack.UpOptions(state_dir=state_dir))
        started_here = True
        print(f"up in {time.perf_counter() - t0:.1f} s; gateway {report.gateway}")
    state = stack.read_state(state_dir.resolve())
    assert state is not None
    gateway = state["runtime"]["gateway"]
    bootstrap = state["bindings"]["kafka_bootstrap"]
    try:
        with httpx.Client(base_url=gateway, timeout=30) as api:
            _step("GET /v1/health (public)")
            r = api.get("/v1/health")
            print(r.status_code, r.text)

            _step("Security: no token, then a token without the market-data:write scope")
            r = api.post("/v1/market-data", json={"source": "demo", "ticks": []})
            print("no token       ->", r.status_code, r.text)
            reader = local_token(state_dir, subject="demo-reader", scope=["portfolio:read"])
            r = api.post(
                "/v1/market-data",
                json={
                    "source": "demo",
                    "ticks": [{"symbol": "AAPL", "price": "1", "size": "1", "ts": "2026-11-24T00:00:00Z"}],
                },
                headers={"Authorization": f"Bearer {reader}"},
            )
            print("missing scope  ->", r.status_code, r.headers.get("content-type"), r.json()["detail"])

            feed = {
                "Authorization": f"Bearer {local_token(state_dir, subject='demo-feed', scope=['market-data:write'])}"
            }
            _step("Bad input gets an RFC 9457 problem and changes nothing")
            r = api.post(
                "/v1/market-data",
                headers=feed,
                json={
                    "source": "demo",
                    "ticks": [{"symbol": "AAPL", "price": "-5", "size": "1", "ts": "2026-11-24T10:00:00"}],
                },
            )
            print(r.status_code, json.dumps(r.json()["errors"]))

            start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=MINUTES + 1)
            ticks = synthetic_ticks(start)
            # One tick in the minute after the window closes the last minute's bars.
            closer = [
                {
                    "symbol": s,
                    "price": str(p),
                    "size": "1",
                    "seq": 10_000,
                    # past the minute's end plus bar_aggregator's grace window (TP_BAR_GRACE_S)
                    "ts": (start + timedelta(minutes=MINUTES, seconds=5)).isoformat().replace("+00:00", "Z"),
                }
                for s, p in SYMBOLS.items()
            ]
            _step(f"POST /v1/market-data: {len(ticks)} ticks for {', '.join(SYMBOLS)} over {MINUTES} minutes")
            half = len(ticks) // 2
            for batch in (ticks[:half], ticks[half:], ticks[:half], closer):
                r = api.post("/v1/market-data", json={"source": "demo-feed", "ticks": batch}, headers=feed)
                print(r.status_code, f"accepted {r.json()['accepted']}")
            print(
                "(the first half was sent twice, as a client retry would: tick ids are deterministic,"
                " so the bar aggregator applies each tick once)"
            )

            _step("Bars streamed to market.bars by bar_aggregator (consumed from Kafka)")
            bars = _consume_bars(bootstrap, want=len(SYMBOLS) * MINUTES, since=start)
            print(
                f"{'symbol':<7}{'minute (UTC)':<18}{'open':>9}{'high':>9}{'low':>9}{'close':>9}"
                f"{'volume':>9}{'trades':>7}"
            )
            for env in bars:
                b = env["data"]
                print(
                    f"{b['symbol']:<7}{b['bucket_start'][:16]:<18}{b['open']:>9}{b['high']:>9}{b['low']:>9}"
                    f"{b['close']:>9}{b['volume']:>9}{b['trade_count']:>7}"
                )
            expected = len(ticks)
            counted = sum(int(env["data"]["trade_count"]) for env in bars)
            print(f"{len(bars)} bars from {counted} trades (sent {expected} distinct ticks plus {half} duplicates)")
            if len(bars) < len(SYMBOLS) * MINUTES or counted != expected:
                print("demo FAILED: not every bar arrived, or duplicates were counted")
                return 1
            _step("History: tradeplane data synth | tradeplane data replay, read back with alpaca-py's data client")
            show_history(state_dir, {s: float(p) for s, p in SYMBOLS.items()})  # raises if any bar is missing
            return _trading_steps(state_dir, bootstrap)
    finally:
        if started_here and not keep:
            _step("Stopping everything `up` started")
            print("stopped: " + ", ".join(stack.down(state_dir)))
        elif started_here:
            print(f"\nThe platform keeps running: gateway {gateway}; stop it with `tradeplane local down`.")
