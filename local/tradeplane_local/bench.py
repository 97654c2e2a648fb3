"""`tradeplane bench`: figures for the local runtime, each against a baseline taken in the same run.

- `local up` to ready, against the time the servers alone take to start;
- gateway overhead per request, against calling the handler in this process;
- Kafka produce-to-invoke latency at idle with a zero batching window, against
  a plain consumer's produce-to-poll latency on the same broker;
- each manifest function's init duration in a fresh process, against an empty handler;
- `POST /v2/orders` through the gateway with 8 clients, against pgbench on the same PostgreSQL
  (`bench_orders`).

Wall-clock figures on a shared 2-core machine: compare the ratios, not the absolutes.
"""

from __future__ import annotations

import http.client
import importlib.util
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tradeplane_tools.manifest import DEFAULT_MANIFEST, REPO_ROOT, load_manifest

from tradeplane_local import provision, servers, stack
from tradeplane_local.host import FunctionConfig, InitError, Worker
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


def bench_gateway(runtime: Runtime, requests: int) -> None:
    _header(f"gateway overhead per request ({requests} sequential GETs, keep-alive)")
    handler = _noop_handler()
    event = {"rawPath": "/v1/noop"}
    direct = []
    for _ in range(requests):
        t0 = time.perf_counter()
        handler(event, None)
        direct.append((time.perf_counter() - t0) * 1000)
    host = runtime.hosts["noop_http"]
    host.invoke({})  # cold start outside the measurement
    ipc = []
    for _ in range(requests):
        t0 = time.perf_counter()
        host.invoke(event)
        ipc.append((time.perf_counter() - t0) * 1000)
    host_port = runtime.gateway_url.removeprefix("http://")
    conn = http.client.HTTPConnection(host_port, timeout=10)
    via_gateway = []
    for _ in range(requests):
        t0 = time.perf_counter()
        conn.request("GET", "/v1/noop")
        resp = conn.getresponse()
        resp.read()
        via_gateway.append((time.perf_counter() - t0) * 1000)
        assert resp.status == 200
    conn.close()
    for q, label in ((0.5, "p50"), (0.99, "p99")):
        g, d, i = pct(via_gateway, q), pct(direct, q), pct(ipc, q)
        _row(
            f"through gateway {label}",
            f"{g:.3f} ms",
            f"{d:.3f} ms",
            f"+{g - d:.3f}",
            f"ms added (goal p50 < 2 ms); of which worker IPC {i:.3f} ms",
        )


def bench_kafka(runtime: Runtime, bootstrap: str, messages: int) -> None:
    from confluent_kafka import Consumer, Producer, TopicPartition

    _header(f"Kafka produce -> invoke at idle ({messages} messages, one every 20 ms, batching window 0)")
    source = next(s for s in runtime.sources if s.cfg.function == "noop_kafka")
    source.ready.wait(15)
    sent: dict[bytes, float] = {}
    latencies: list[float] = []
    invoked = threading.Event()
    original = source.invoke

    def timed_invoke(event: dict[str, Any]) -> Any:
        now = time.perf_counter()
        for recs in event["records"].values():
            for r in recs:
                import base64

                key = base64.b64decode(r["key"])
                if key in sent:
                    latencies.append((now - sent.pop(key)) * 1000)
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
    # Baseline: the same broker and topic, a bare consumer polling.
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
        while True:
            msg = consumer.poll(5)
            if msg is None or (msg.key() or b"").startswith(b"b"):
                break
        raw.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.02)
    consumer.close()
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


def bench_init(rounds: int) -> None:
    _header(f"init duration in a fresh process (median of {rounds}; first run compiles .pyc)")
    manifest = load_manifest(DEFAULT_MANIFEST)
    bench_manifest = load_manifest(BENCH_MANIFEST)
    targets = [(bench_manifest, bench_manifest.function("noop_http"), BENCH_MANIFEST)] + [
        (manifest, fn, DEFAULT_MANIFEST) for fn in manifest.functions.values()
    ]
    baseline = None
    for m, fn, path in targets:
        cfg = FunctionConfig(
            name=fn.name,
            code_dir=path.parent / fn.code_root,
            handler=fn.lambda_handler,
            layer_dirs=tuple(REPO_ROOT / str(m.layers[x].source) for x in m.layers_of(fn) if m.layers[x].source),
            environment={"POWERTOOLS_SERVICE_NAME": fn.component, "POWERTOOLS_TRACE_DISABLED": "true"},
            memory_mb=m.memory_of(fn),
            timeout_s=30,
        )
        inits, imports = [], []
        for _ in range(rounds + 1):
            try:
                worker = Worker(cfg, lambda *_: None)
            except InitError as exc:
                print(f"  {fn.name}: init failed: {exc}")
                break
            inits.append(worker.init_ms)
            imports.append(worker.import_ms)
            worker.close()
        if not inits:
            continue
        med = statistics.median(inits[1:])
        baseline = baseline or med
        _row(
            fn.name,
            f"{med:.0f} ms",
            f"{baseline:.0f} ms",
            f"{med / baseline:.1f}x",
            f"handler import {statistics.median(imports[1:]):.0f} ms; first run {inits[0]:.0f} ms",
        )


def run_benchmarks(quick: bool = False) -> int:
    print("Tradeplane local runtime benchmarks" + (" (quick)" if quick else ""))
    bench_up(rounds=1 if quick else 3)
    with tempfile.TemporaryDirectory() as tmp:
        kafka = servers.start("kafka", Path(tmp))
        try:
            provision.create_topics(kafka.url, load_manifest(BENCH_MANIFEST).all_topics())
            runtime = _bench_runtime(Path(tmp) / "runtime", kafka.url)
            try:
                bench_gateway(runtime, requests=300 if quick else 3000)
                bench_kafka(runtime, kafka.url, messages=50 if quick else 300)
            finally:
                runtime.stop()
        finally:
            servers.stop(kafka)
    bench_init(rounds=2 if quick else 5)
    from tradeplane_local.bench_orders import bench_orders

    bench_orders(quick, _row, _header)
    return 0
