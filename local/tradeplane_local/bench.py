"""`tradeplane bench`: figures for the local runtime, each against a baseline taken in the same run.

- `local up` to ready, against the time the servers alone take to start;
- gateway overhead per request, against calling the handler in this process (with the
  bare server's and the worker IPC's shares);
- Kafka produce-to-invoke latency at idle with a zero batching window, against
  a plain consumer's produce-to-poll latency on the same broker;
- each manifest function's init duration in a fresh process, against a bare Powertools
  `APIGatewayHttpResolver` hello with validation on (bench/functions/hello; goal at most 1.3x);
- the Kafka source under chaos (issue 8): the manifest's bar_aggregator fed by
  several producers while its containers are killed and its source restarted,
  conservation checked, throughput against a bare consumer draining the same records.
- the strategy API's FastAPI route functions' init against a bare FastAPI + Mangum hello, and one app
  holding every strategy route (`bench_strategy_api`; goal at most 1.3x).
- `POST /v2/orders` through the gateway with 8 clients, against pgbench on the same PostgreSQL
  (`bench_orders`).
- scaling out (`bench_scaling`): an I/O-bound Kafka consumer at 1, 2, 4 and 6 partitions against
  partitions x the 1-partition rate; bar_aggregator ticks/s on 1 and 6 partitions; replica lag under writes.
- order execution: executor executions/s against pgbench, submit -> filled latency (`bench_execution`).
- log lines/s stored by log_aggregator against a bare COPY, and logging's cost in a hot handler (`bench_logs`).
- backtest bars/s of the MA crossover on one core against backtesting.py on the same bars (`bench_backtest`).

Wall-clock figures on a shared 2-core machine: compare the ratios, not the absolutes.
"""

from __future__ import annotations

import http.client
import importlib.util
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tradeplane_tools.manifest import (
    DEFAULT_MANIFEST,
    REPO_ROOT,
    FunctionSpec,
    Manifest,
    environment_for,
    load_manifest,
    placeholder_bindings,
)

from tradeplane_local import provision, servers, stack
from tradeplane_local.gateway import AsgiServer
from tradeplane_local.host import FunctionConfig, InitError, Worker
from tradeplane_local.kafka_chaos import ChaosPlan, RoundReport, chaos_driver
from tradeplane_local.runtime import Runtime, RuntimeConfig

BENCH_MANIFEST = REPO_ROOT / "bench" / "functions" / "manifest.toml"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _row(name: str, value: str, baseline: str = "", ratio: str = "", note: str = "") -> None:
    print(f"  {name:<34}{value:>14}{baseline:>14}{ratio:>9}  {note}")


def _header(title: str) -> None:
    print(f"\n{title}")
    print(f"  {'':<34}{'measured':>14}{'baseline':>14}{'ratio':>9}")


def bench_up(rounds: int) -> None:
    _header("local up -> ready (all servers, migrations, topics, secrets, runtime)")
    totals, server_times = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            state = Path(tmp) / "state"
            t0 = time.perf_counter()
            report = stack.up(stack.UpOptions(state_dir=state, gateway_port=0))
            totals.append(time.perf_counter() - t0)
            server_times.append(sum(report.timings_s[n] for n in ("postgres", "redis", "kafka", "moto")))
            stack.down(state)
    total, srv = statistics.median(totals), statistics.median(server_times)
    _row("up to ready (median)", f"{total:.2f} s", f"{srv:.2f} s", f"{total / srv:.2f}x", "baseline: servers alone")


def _noop_handler() -> Callable[[Any, Any], Any]:
    spec = importlib.util.spec_from_file_location("bench_noop", BENCH_MANIFEST.parent / "noop" / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler  # type: ignore[no-any-return]


def _bench_runtime(state: Path, bootstrap: str | None) -> Runtime:
    manifest = load_manifest(BENCH_MANIFEST)
    bindings = provision.local_bindings(manifest, db_dsn=None, redis_url=None, kafka_bootstrap=bootstrap)
    runtime = Runtime(RuntimeConfig(manifest=str(BENCH_MANIFEST), state_dir=str(state), bindings=asdict(bindings)))
    runtime.start()
    return runtime


async def _empty_asgi_app(scope: Any, receive: Any, send: Any) -> None:
    """The cheapest answer the gateway's server can give: what hypercorn itself costs."""
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})


def _timed_gets(url: str, path: str, requests: int) -> list[float]:
    """Milliseconds per sequential GET on one keep-alive connection."""
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    timings = []
    for _ in range(requests):
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        timings.append((time.perf_counter() - t0) * 1000)
        assert resp.status == 200
    conn.close()
    return timings


def _timed_calls(call: Callable[[], Any], requests: int) -> list[float]:
    timings = []
    for _ in range(requests):
        t0 = time.perf_counter()
        call()
        timings.append((time.perf_counter() - t0) * 1000)
    return timings


def bench_gateway(runtime: Runtime, requests: int) -> None:
    _header(f"gateway overhead per request ({requests} sequential GETs, keep-alive)")
    handler, event = _noop_handler(), {"rawPath": "/v1/noop"}
    direct = _timed_calls(lambda: handler(event, None), requests)
    host = runtime.hosts["noop_http"]
    host.invoke({})  # cold start outside the measurement
    ipc = _timed_calls(lambda: host.invoke(event), requests)
    bare = AsgiServer(_empty_asgi_app, "127.0.0.1", 0, name="bench-bare")
    bare.start()
    try:
        server = _timed_gets(bare.url, "/v1/noop", requests)
    finally:
        bare.stop()
    via_gateway = _timed_gets(runtime.gateway_url, "/v1/noop", requests)
    for q, label in ((0.5, "p50"), (0.99, "p99")):
        g, d, i, b = pct(via_gateway, q), pct(direct, q), pct(ipc, q), pct(server, q)
        _row(
            f"through gateway {label}",
            f"{g:.3f} ms",
            f"{d:.3f} ms",
            f"+{g - d:.3f}",
            f"ms added (goal p50 < 2 ms); of which hypercorn alone {b:.3f} ms, worker IPC {i:.3f} ms",
        )


def _invoke_latencies(runtime: Runtime, bootstrap: str, messages: int) -> list[float]:
    """Produce one message at a time and time until the local event source invokes the function with it."""
    import base64

    from confluent_kafka import Producer

    source = next(s for s in runtime.sources if s.cfg.function == "noop_kafka")
    source.ready.wait(15)
    sent: dict[bytes, float] = {}
    latencies: list[float] = []
    invoked = threading.Event()
    original = source.invoke

    def timed_invoke(event: dict[str, Any]) -> Any:
        now = time.perf_counter()
        keys = [base64.b64decode(r["key"]) for recs in event["records"].values() for r in recs]
        latencies.extend((now - sent.pop(key)) * 1000 for key in keys if key in sent)
        invoked.set()
        return original(event)

    source.invoke = timed_invoke
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(messages):
        key = f"m{i}".encode()
        invoked.clear()
        sent[key] = time.perf_counter()
        producer.produce("bench", key=key, value=b"{}")
        producer.flush(5)
        invoked.wait(5)
        time.sleep(0.02)
    source.invoke = original
    return latencies


def _bare_consumer_latencies(bootstrap: str, messages: int) -> list[float]:
    """Baseline: the same broker and topic, a bare consumer polling for each message produced."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-baseline", "fetch.wait.max.ms": 10})
    meta = consumer.list_topics("bench", timeout=10)
    parts = [TopicPartition("bench", p) for p in meta.topics["bench"].partitions]
    high = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in parts]
    consumer.assign([TopicPartition("bench", tp.partition, h) for tp, h in zip(parts, high, strict=True)])
    consumer.poll(0.5)
    raw: list[float] = []
    for i in range(messages):
        t0 = time.perf_counter()
        producer.produce("bench", key=f"b{i}".encode(), value=b"{}")
        producer.flush(5)
        msg = consumer.poll(5)
        while msg is not None and not (msg.key() or b"").startswith(b"b"):  # Tansu's short end offset
            msg = consumer.poll(5)
        raw.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.02)
    consumer.close()
    return raw


def bench_kafka(runtime: Runtime, bootstrap: str, messages: int) -> None:
    _header(f"Kafka produce -> invoke at idle ({messages} messages, one every 20 ms, batching window 0)")
    latencies = _invoke_latencies(runtime, bootstrap, messages)
    raw = _bare_consumer_latencies(bootstrap, messages)
    for q, label in ((0.5, "p50"), (0.99, "p99")):
        k, b = pct(latencies, q), pct(raw, q)
        _row(
            f"produce -> invoke {label}",
            f"{k:.2f} ms",
            f"{b:.2f} ms",
            f"{k / max(b, 1e-6):.2f}x",
            "baseline: bare consumer poll (goal p50 < 20 ms)" if label == "p50" else "",
        )
    if len(latencies) < messages:
        print(f"  warning: {messages - len(latencies)} messages not seen in time")


def _init_config(m: Manifest, fn: FunctionSpec, path: Path) -> FunctionConfig:
    """The function as Lambda would start it, with its manifest environment (endpoints nobody listens on)."""
    bindings = placeholder_bindings(m)
    return FunctionConfig(
        name=fn.name,
        code_dir=path.parent / fn.code_root,
        handler=fn.lambda_handler,
        layer_dirs=tuple(REPO_ROOT / str(m.layers[x].source) for x in m.layers_of(fn) if m.layers[x].source),
        environment={**environment_for(m, fn, bindings), "POWERTOOLS_TRACE_DISABLED": "true"},
        memory_mb=m.memory_of(fn),
        timeout_s=30,
    )


@dataclass
class _InitSamples:
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # the worker process's user+system CPU, start to exit
    failed: str = ""


def _sample_init(cfg: FunctionConfig, into: _InitSamples) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        worker = Worker(cfg, lambda *_: None)
    except InitError as exc:
        into.failed = str(exc)
        return
    into.wall_ms.append(worker.init_ms or 0.0)
    worker.close()  # waits for the process, so its CPU time is in RUSAGE_CHILDREN
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    into.cpu_ms.append(((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000)


def sample_inits(targets: list[tuple[Manifest, FunctionSpec, Path]], rounds: int) -> dict[str, _InitSamples]:
    """Each target's init, `rounds + 1` times round-robin (the first round compiles .pyc files: skip it)."""
    configs = [_init_config(m, fn, path) for m, fn, path in targets]
    samples = {cfg.name: _InitSamples() for cfg in configs}
    for _ in range(rounds + 1):
        for cfg in configs:
            if not samples[cfg.name].failed:
                _sample_init(cfg, samples[cfg.name])
    return samples


def bench_init(rounds: int) -> None:
    """Each function's init against a bare Powertools HTTP resolver with validation (goal: at most 1.3x).

    Rounds go round-robin over the functions so the machine's load changes hit all of them alike; the
    first round (which compiles .pyc files) is dropped. The ratio is on CPU time, which other processes
    on a shared machine disturb far less than wall time.
    """
    _header(f"init in a fresh process (median of {rounds} round-robin rounds; ratio on CPU time vs hello_http)")
    manifest = load_manifest(DEFAULT_MANIFEST)
    bench_manifest = load_manifest(BENCH_MANIFEST)
    targets = [(bench_manifest, bench_manifest.function(n), BENCH_MANIFEST) for n in ("noop_http", "hello_http")]
    targets += [(manifest, fn, DEFAULT_MANIFEST) for fn in manifest.functions.values()]
    samples = sample_inits(targets, rounds)
    base = statistics.median(samples["hello_http"].cpu_ms[1:])
    for name, got in samples.items():
        if got.failed or len(got.cpu_ms) < 2:
            print(f"  {name}: init failed: {got.failed}")
            continue
        cpu, wall = statistics.median(got.cpu_ms[1:]), statistics.median(got.wall_ms[1:])
        _row(name, f"{cpu:.0f} ms cpu", f"{base:.0f} ms", f"{cpu / base:.2f}x", f"wall {wall:.0f} ms")


def _chaos_rounds(state: Path, kafka_url: str, rounds: int, plan: ChaosPlan) -> tuple[RoundReport, list[RoundReport]]:
    """After a warm-up round, a calm round (no kills, no restart), then the chaos rounds, on one runtime."""
    state.mkdir(mode=0o755)  # PostgreSQL may run as another user (pgserver) and must reach its folder
    state.chmod(0o755)
    postgres = servers.start("postgres", state, durable=False)
    redis = servers.start("redis", state)
    try:
        with chaos_driver(state / "runtime", postgres.url, kafka_url, redis.url) as driver:
            driver.round(replace(plan, kills=0, restarts=0))  # warm-up: every container's cold start
            calm = driver.round(replace(plan, kills=0, restarts=0))
            return calm, [driver.round(plan) for _ in range(rounds)]
    finally:
        servers.stop(redis)
        servers.stop(postgres)


def bench_kafka_chaos(state: Path, kafka_url: str, rounds: int, plan: ChaosPlan) -> None:
    _header(
        f"Kafka source under chaos ({rounds} rounds x {plan.records} ticks from {plan.clients} producers, "
        f"{plan.kills} container kills and {plan.restarts} source restart per round)"
    )
    calm, reports = _chaos_rounds(state, kafka_url, rounds, plan)

    def total(attr: str) -> int:
        return sum(int(getattr(r, attr)) for r in reports)

    def source(key: str) -> int:
        return sum(r.source.get(key, 0) for r in reports)

    twice = total("trade_count") - total("applied")
    lost = sum(len(r.missing) for r in reports)
    _row(
        "ticks acknowledged",
        str(total("acked")),
        "",
        "",
        f"applied {total('applied')}, dead-lettered {total('dead_lettered')}, lost {lost}, applied twice {twice}",
    )
    _row(
        "kills / source restarts",
        f"{total('kills')} / {total('restarts')}",
        "",
        "",
        f"failed invocations {source('failed_invocations')}",
    )
    _row(
        "redeliveries (inbox duplicates)",
        str(total("duplicates")),
        "",
        "",
        f"records in successful invocations {source('records')}",
    )
    _row(
        "gaps / replays detected",
        f"{source('gaps')} / {source('replays_skipped')}",
        "",
        "",
        f"offsets skipped after re-fetches {source('gap_offsets_skipped')}",
    )
    chaos_rate = total("acked") / max(sum(r.seconds for r in reports), 1e-9)
    calm_rate = calm.acked / max(calm.seconds, 1e-9)
    bare_rate = total("acked") / max(sum(r.baseline_seconds for r in reports), 1e-9)
    for label, rate in (("throughput under chaos", chaos_rate), ("throughput, calm round", calm_rate)):
        _row(
            label,
            f"{rate:.0f} rec/s",
            f"{bare_rate:.0f} rec/s",
            f"{rate / bare_rate:.3f}x",
            "produce -> aggregated; baseline: bare consumer draining the same records",
        )


def run_benchmarks(quick: bool = False) -> int:
    print("Tradeplane local runtime benchmarks" + (" (quick)" if quick else ""))
    bench_up(rounds=1 if quick else 3)
    with tempfile.TemporaryDirectory() as tmp:
        kafka = servers.start("kafka", Path(tmp))
        try:
            provision.create_topics(kafka.url, load_manifest(BENCH_MANIFEST))
            runtime = _bench_runtime(Path(tmp) / "runtime", kafka.url)
            try:
                bench_gateway(runtime, requests=300 if quick else 3000)
                bench_kafka(runtime, kafka.url, messages=50 if quick else 300)
            finally:
                runtime.stop()
            plan = ChaosPlan(records=900 if quick else 3000, kills=2 if quick else 4, produce_s=0.3)
            bench_kafka_chaos(Path(tmp) / "chaos", kafka.url, rounds=1 if quick else 3, plan=plan)
        finally:
            servers.stop(kafka)
    bench_init(rounds=2 if quick else 5)
    from tradeplane_local.bench_strategy_api import bench_strategy_api

    bench_strategy_api(quick, _row, _header)
    from tradeplane_local.bench_orders import bench_orders

    bench_orders(quick, _row, _header)
    from tradeplane_local.bench_scaling import bench_scaling

    bench_scaling(quick, _row, _header)
    from tradeplane_local.bench_execution import bench_execution

    bench_execution(quick, _row, _header)
    from tradeplane_local.bench_logs import bench_logs

    bench_logs(quick, _row, _header)
    from tradeplane_local.bench_etl import bench_etl

    bench_etl(quick, _row, _header)
    from tradeplane_local.bench_backtest import bench_backtest

    bench_backtest(quick, _row, _header)
    return 0
