"""Order execution figures (issue 10), each beside a baseline taken in the same run.

- Executions per second through the executor's logic (`tp_execution.executor.execute`,
  one transaction per order, trade updates published to Kafka and flushed) with real
  PostgreSQL and Kafka, in WORKERS processes (one per account, as the partitions of
  `orders.submitted` spread accounts over executor containers), against pgbench's
  TPC-B-like rate on the same server (`bench_orders.pgbench`). The orders are
  written as the Core API leaves them (accepted, with a reservation), so the figure
  is the executor's own. Each configuration runs ROUNDS pairs (pgbench, then the executor), alternated, and
  prints the pair with the median ratio, with its CPU per operation by part (single pairs moved 0.4x-1.2x
  between neighbours on this shared machine).
  Measured twice: with the whole local platform running, where the platform's own
  consumer of the executor's output (`trade_updates_fanout`, through the runtime's
  Kafka source) and every source's polling share the two cores (the clock and the CPU
  readings run until that consumer has committed past every trade update); and with the
  runtime paused (SIGSTOP, `paused_runtime`), so the executor, PostgreSQL, Kafka and
  Redis are alone, as they would be on their own hosts.
- Submit to filled for a market order through the whole local platform (back to back, and each after 2 s of
  quiet, when the local event sources pace their fetches): `POST /v2/orders`
  through the gateway, the outbox publish, the Kafka source (zero batching window), the
  executor's worker, until its `fill` trade update is read from `orders.events`; p50 and
  p99 against the same client's `GET /v2/account` round trip (the gateway + authorizer floor).
"""

from __future__ import annotations

import http.client
import json
import math
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tradeplane.settings import RateLimitSettings
from tradeplane_tools.manifest import DEFAULT_MANIFEST, Bindings, domain_paths, environment_for, load_manifest

from tradeplane_local import cpu_meter, stack
from tradeplane_local.admin import local_dsn, paper_account
from tradeplane_local.bench_orders import pgbench_measured

WORKERS = 4
BATCH = 100
QUIET_S = 2.0  # before each order of the quiet latency figure
ROUNDS = 3  # pgbench and executor pairs, alternated; the printed pair is the median ratio's
# The Core API's per-account limit (as Alpaca's); the bench keeps the product's setting.
RATE_LIMIT_PER_MINUTE: int = RateLimitSettings.model_fields["rate_limit_per_minute"].default
Row = Callable[..., None]

_STAGE = """
with o as (
    insert into trading.orders (id, account_id, client_order_id, symbol, side, type, time_in_force, qty, status,
                                request_hash)
    select gen_random_uuid(), %(a)s, 'bench-' || gen_random_uuid(), 'AAPL', 'buy', 'market', 'day', 1, 'accepted', ''
    from generate_series(1, %(n)s)
    returning id, client_order_id, submitted_at
), r as (
    insert into trading.reservations (order_id, account_id, amount) select id, %(a)s, 0 from o
)
select * from o order by submitted_at, id
"""


def _stage_orders(dsn: str, account_id: str, count: int) -> list[str]:
    """`count` accepted market orders for the account, as `order.submitted` envelope JSON."""
    import psycopg
    from psycopg.rows import dict_row
    from tradeplane.contracts.orders import ORDER_SUBMITTED, OrderSubmitted
    from tradeplane.envelope import Envelope

    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        rows = conn.execute(_STAGE, {"a": account_id, "n": count}).fetchall()
    out = []
    for r in rows:
        event = OrderSubmitted(
            order_id=r["id"],
            account_id=uuid.UUID(account_id),
            client_order_id=r["client_order_id"],
            symbol="AAPL",
            side="buy",
            type="market",
            time_in_force="day",
            order_class="simple",
            qty=Decimal(1),
            status="accepted",
            submitted_at=r["submitted_at"],
            reserved=Decimal(0),
        )
        out.append(Envelope.new(ORDER_SUBMITTED, event, producer="bench").to_json().decode())
    return out


def _executor_worker(env: dict[str, str], envelopes: list[str], ready: Any, go: Any, out: Any) -> None:
    """One executor container: its environment, its account's intents in batches. Puts (start, end) wall times and
    the CPU seconds spent in between on `out`; starts when every worker is warm (`ready`) and the bench has taken
    its CPU reading (`go`)."""
    os.environ.update(env)
    # Its log lines are formatted and written as in Lambda, but to /dev/null rather than the bench's output.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.path[:0] = [str(p) for p in domain_paths()]
    from tp_execution.config import PaperVenueSettings
    from tp_execution.executor import execute
    from tp_execution.paper_venue import PaperVenue
    from tradeplane.envelope import Envelope
    from tradeplane.latest_price import last_price, last_prices
    from tradeplane.settings import KafkaSettings, PostgresSettings, RedisSettings, load_settings

    class Settings(PostgresSettings, KafkaSettings, RedisSettings, PaperVenueSettings):
        pass

    venue = PaperVenue(load_settings(Settings).fill_config(), last_price, last_prices)
    parsed = [Envelope.from_json(e) for e in envelopes]
    execute(parsed[:1], venue)  # connect and warm up outside the measurement
    ready.wait()
    go.wait()
    start, cpu = time.time(), time.process_time()
    for i in range(1, len(parsed), BATCH):
        execute(parsed[i : i + BATCH], venue)
    out.put((start, time.time(), time.process_time() - cpu))


def executor_rate(
    state: Path, accounts: list[str], per_worker: int, *, settled: Callable[[], float] | None = None
) -> tuple[float, dict[str, float]]:
    """Executions per second with one process per account, all started together once warm, and the CPU
    milliseconds per execution of each part over that stretch (`cpu_meter` groups, and `executor` for the
    executor processes). With `settled` (waits, returns the wall time it ended), the stretch lasts until the
    platform has also consumed what the executors published."""
    st = stack.read_state(state.resolve()) or {}
    manifest = load_manifest(DEFAULT_MANIFEST)
    env = environment_for(manifest, manifest.function("executor"), Bindings(**st["bindings"]))
    env["POWERTOOLS_TRACE_DISABLED"] = "true"
    env["POWERTOOLS_METRICS_DISABLED"] = "true"
    dsn = local_dsn(state) or ""
    staged = [_stage_orders(dsn, account, per_worker + 1) for account in accounts]
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Barrier(len(accounts) + 1), ctx.Barrier(len(accounts) + 1), ctx.Queue()
    workers = [ctx.Process(target=_executor_worker, args=(env, orders, ready, go, out)) for orders in staged]
    for worker in workers:
        worker.start()
    try:
        ready.wait(timeout=300)
        before = cpu_meter.reading(state)
        go.wait(timeout=60)
        spans = [out.get(timeout=600) for _ in workers]
        done = settled() if settled is not None else 0.0
        after = cpu_meter.reading(state)
    finally:
        for worker in workers:
            worker.join(timeout=30)
    elapsed = max(done, *(end for _, end, _ in spans)) - min(start for start, _, _ in spans)
    after["executor"] = sum(cpu for _, _, cpu in spans)
    executions = per_worker * len(accounts)
    return executions / elapsed, cpu_meter.per_operation_ms(before, after, executions)


def _orders_events_sources(state: Path) -> list[dict[str, Any]]:
    runtime = stack.status(state).get("runtime") or {}
    return [s for s in runtime.get("kafka_sources", []) if s["topic"] == "orders.events"]


def consumed_by_platform(state: Path, bootstrap: str, timeout: float = 180.0) -> Callable[[], float]:
    """A `settled` for `executor_rate`: waits until every runtime source of `orders.events` (the trade update
    fan-out) has committed past every record on the topic, and returns when that was. The topic's end is read
    by fetching (Tansu's ListOffsets end is short by up to a batch); the sources' commits from the runtime's
    status. Records already there before are counted too, so call it after the executors are done."""

    def settled() -> float:
        reader = events_consumer(bootstrap, f"bench-end-{uuid.uuid4().hex[:8]}", positioned=False)
        ends: dict[int, int] = {}
        while (msg := reader.poll(1.0)) is not None:  # to the end: the last offset read on each partition
            if msg.error() is None:
                ends[msg.partition()] = max(ends.get(msg.partition(), 0), msg.offset() + 1)
        reader.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sources = _orders_events_sources(state)
            if sources and all(int(s["committed"].get(str(p), 0)) >= end for s in sources for p, end in ends.items()):
                return time.time()
            time.sleep(0.2)
        left = _orders_events_sources(state)
        raise TimeoutError(f"orders.events was not consumed within {timeout:.0f} s: {ends} vs {left}")

    return settled


@contextmanager
def paused_runtime(state: Path) -> Iterator[None]:
    """The local runtime (gateway, event sources, schedules, function workers) stopped, servers left running."""
    import psutil

    pid = (stack.read_state(state.resolve()) or {}).get("runtime", {}).get("pid")
    root = psutil.Process(pid)
    tree = [root, *root.children(recursive=True)]
    for proc in tree:
        proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for proc in tree:
            with suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGCONT)


def _request(conn: http.client.HTTPConnection, method: str, path: str, key: dict[str, str], body: Any = None) -> Any:
    conn.request(method, path, json.dumps(body) if body is not None else None, key)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{method} {path}: {resp.status} {data[:200]!r}")
    return json.loads(data)


def submit_to_filled(
    gateway: str, keys: list[dict[str, str]], bootstrap: str, orders: int, quiet_s: float = 0.0
) -> tuple[list[float], list[float]]:
    """(submit -> fill event latencies, GET /v2/account latencies) in ms, one order at a time; `quiet_s` before
    each (the event sources pace their fetches after a quiet second: `kafka_source.IDLE_AFTER_S`).

    Each sample is two requests; the samples take turns over `keys` (one account each), so no account's
    bucket of the Core API's per-account rate limit (200/min, as Alpaca) runs dry within the minute.
    """
    per_key = 2 * math.ceil(orders / len(keys))
    if per_key > RATE_LIMIT_PER_MINUTE * 3 // 4:
        raise ValueError(f"{orders} samples over {len(keys)} keys: {per_key} requests per key in about a minute")
    consumer = events_consumer(bootstrap, "bench-fills")
    conn = http.client.HTTPConnection(urlsplit(gateway).netloc, timeout=30)
    body = {"symbol": "AAPL", "qty": "1", "side": "buy", "type": "market", "time_in_force": "day"}
    fills, floor = [], []
    try:
        for i in range(orders):
            key = keys[i % len(keys)]
            time.sleep(quiet_s)
            t0 = time.perf_counter()
            _request(conn, "GET", "/v2/account", key)
            floor.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            order_id = _request(conn, "POST", "/v2/orders", key, body)["id"]
            if wait_fill(consumer, order_id, timeout=10) is not None:
                fills.append((time.perf_counter() - t0) * 1000)
    finally:
        conn.close()
        consumer.close()
    return fills, floor


def events_consumer(bootstrap: str, group: str, *, positioned: bool = True) -> Any:
    """A consumer of `orders.events` from its first record; `positioned`: after everything already on it."""
    from confluent_kafka import Consumer, TopicPartition

    # A short fetch wait, as the local Kafka source uses: Tansu holds a fetch for its whole wait.
    config = {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    consumer = Consumer({**config, "fetch.wait.max.ms": 10})
    meta = consumer.list_topics("orders.events", timeout=10)
    consumer.assign([TopicPartition("orders.events", p, 0) for p in meta.topics["orders.events"].partitions])
    while positioned and consumer.poll(0.2) is not None:  # skip what earlier steps left on the topic
        pass
    return consumer


def wait_fill(consumer: Any, order_id: str, timeout: float) -> Any:
    """The order's `fill` record on `orders.events` (its Kafka message), or None when it did not come in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = consumer.poll(0.05)
        if msg is None or msg.error():
            continue
        data = json.loads(msg.value())["data"]
        if data["order"]["id"] == order_id and data["event"] == "fill":
            return msg
    return None


def _account(gateway: str, key: dict[str, str]) -> str:
    conn = http.client.HTTPConnection(urlsplit(gateway).netloc, timeout=30)
    try:
        return str(_request(conn, "GET", "/v2/account", key)["id"])
    finally:
        conn.close()


def _set_price(redis_url: str, symbol: str, price: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.hset(f"px:{symbol}", mapping={"p": price, "t": str(int(datetime.now(UTC).timestamp() * 1e6))})
    client.close()


@contextmanager
def priced_platform(tmp: str) -> Iterator[tuple[Path, str, dict[str, Any]]]:
    """The whole local platform (no replica) with AAPL at 190: (state dir, gateway URL, its bindings)."""
    state = Path(tmp) / "state"
    report = stack.up(stack.UpOptions(state_dir=state, gateway_port=0, replica=False))
    try:
        bindings = (stack.read_state(state.resolve()) or {})["bindings"]
        _set_price(bindings["redis_url"], "AAPL", "190.00")
        yield state, report.gateway, bindings
    finally:
        stack.down(state)


def bench_execution(quick: bool, row: Row, header: Callable[[str], None]) -> None:
    from tradeplane_local.bench import pct

    per_worker = 150 if quick else 1000
    fills_n = 30 if quick else 150  # spread over the WORKERS accounts: 76 requests each, under 200/min
    header(f"Order execution: executor ({WORKERS} processes x {per_worker} orders), submit -> filled")
    with tempfile.TemporaryDirectory() as tmp, priced_platform(tmp) as (state, gateway, bindings):
        made = [paper_account(state, Decimal("1000000000")) for _ in range(WORKERS)]
        keys = [{"APCA-API-KEY-ID": m["APCA_API_KEY_ID"], "APCA-API-SECRET-KEY": m["APCA_API_SECRET_KEY"],
                 "Content-Type": "application/json"} for m in made]  # fmt: skip
        accounts = [_account(gateway, k) for k in keys]
        bootstrap = bindings["kafka_bootstrap"]
        submit_to_filled(gateway, keys, bootstrap, 4)  # cold starts outside the measurement
        fills, floor = submit_to_filled(gateway, keys, bootstrap, fills_n)
        quiet_fills, quiet_floor = submit_to_filled(gateway, keys, bootstrap, 4 if quick else 10, quiet_s=QUIET_S)
        seconds = 4 if quick else 8
        order = accounts[1:] + accounts[:1]
        for label, paused in (("", False), (", runtime paused", True)):
            pairs = []
            for _ in range(ROUNDS):  # alternated, so a neighbour's load falls on both sides alike
                with paused_runtime(state) if paused else nullcontext():
                    base, base_cpu = pgbench_measured(state, seconds)
                    # Running: until the platform has consumed the executors' trade updates (its fan-out would
                    # otherwise finish its backlog after the clock, uncounted); paused, nothing consumes them.
                    settled = None if paused else consumed_by_platform(state, bootstrap)
                    rate, cpu = executor_rate(state, order, per_worker, settled=settled)
                pairs.append((rate / base.tps, rate, base.tps, cpu, base_cpu))
            ratio, rate, tps, cpu, base_cpu = sorted(pairs, key=lambda p: p[0])[len(pairs) // 2]
            each = ", ".join(f"{p[0]:.2f}x" for p in pairs)
            note = f"baseline: pgbench TPC-B-like, 8 clients; median of {ROUNDS} alternated pairs ({each}); goal >= 1x"
            row(f"executions/s, executor{label}", f"{rate:.0f}/s", f"{tps:.0f} tps", f"{ratio:.2f}x", note)
            row("  CPU per execution", "", "", "", cpu_meter.describe(cpu))
            row("  CPU per pgbench transaction", "", "", "", cpu_meter.describe(base_cpu))
        missing = fills_n - len(fills)
        for q in (0.5, 0.99):
            goal = "; goal p50 < 50 ms" if q == 0.5 else ""
            note = f"baseline: GET /v2/account round trip; {missing} unfilled{goal}"
            fill_ms, floor_ms = pct(fills, q), pct(floor, q)
            row(f"submit -> filled p{int(q * 100)}", f"{fill_ms:.1f} ms", f"{floor_ms:.1f} ms",
                f"{fill_ms / floor_ms:.2f}x", note)  # fmt: skip
        fill_ms, floor_ms = pct(quiet_fills, 0.5), pct(quiet_floor, 0.5)
        note = f"each after {QUIET_S:.0f} s of quiet (the sources' idle pacing); same baseline"
        quiet_ratio = f"{fill_ms / floor_ms:.2f}x"
        row("submit -> filled p50, quiet", f"{fill_ms:.1f} ms", f"{floor_ms:.1f} ms", quiet_ratio, note)
