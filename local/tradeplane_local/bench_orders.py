"""`POST /v2/orders` through the local gateway against pgbench on the same PostgreSQL, in the same run.

Eight clients (keep-alive connections, one thread each) submit small limit orders,
each on its own paper account (a bot per account) and then all on one shared
account (every submit serialises on that account's row lock). The baseline is
pgbench's TPC-B-like transaction rate with 8 clients on the same server: an order
is about one such transaction (lock, checks, four inserts) plus the gateway, the
authorizer and the worker hops. Beside each rate it prints the CPU each part of the
platform spent per order, and pgbench's per transaction: on a machine of two cores
the ratio is mostly the quotient of those two sums.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tradeplane_local import cpu_meter, stack
from tradeplane_local.admin import local_dsn, paper_account

CLIENTS = 8


def _pgbench_binary() -> Path:
    import pgserver

    return Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"


@dataclass(frozen=True)
class Pgbench:
    tps: float
    transactions: int


def pgbench(dsn: str, seconds: int, clients: int = CLIENTS) -> Pgbench:
    """TPC-B-like transactions per second (scale 10) in a database of its own on the same server."""
    import psycopg

    parts = urlsplit(dsn)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute("drop database if exists tp_pgbench")
        conn.execute("create database tp_pgbench")
    url = urlunsplit(parts._replace(path="/tp_pgbench"))
    pgbench = str(_pgbench_binary())
    subprocess.run([pgbench, "-i", "-q", "-s", "10", url], check=True, capture_output=True, timeout=600)
    out = subprocess.run(
        [pgbench, "-c", str(clients), "-j", "2", "-T", str(seconds), url], check=True, capture_output=True, text=True
    ).stdout
    tps, done = re.search(r"tps = ([0-9.]+)", out), re.search(r"actually processed: ([0-9]+)", out)
    if tps is None or done is None:
        raise RuntimeError(f"pgbench printed no tps or transaction count: {out[-300:]}")
    return Pgbench(float(tps.group(1)), int(done.group(1)))


def pgbench_measured(state: Path, seconds: int) -> tuple[Pgbench, dict[str, float]]:
    """pgbench's rate and its CPU per transaction (the server's and pgbench's own)."""
    before, client_before = cpu_meter.reading(state), cpu_meter.children_cpu_s()
    run = pgbench(local_dsn(state) or "", seconds)
    time.sleep(1)  # its backends exit with it: read once the server has reaped them (a zombie's CPU is unreadable)
    after = cpu_meter.reading(state)
    after["pgbench client"] = cpu_meter.children_cpu_s() - client_before
    return run, cpu_meter.per_operation_ms(before, after, run.transactions)


def _client(gateway: str, key: tuple[str, str], orders: int, latencies: list[float], errors: list[int]) -> None:
    conn = http.client.HTTPConnection(urlsplit(gateway).netloc, timeout=30)
    headers = {"APCA-API-KEY-ID": key[0], "APCA-API-SECRET-KEY": key[1], "Content-Type": "application/json"}
    body = {"symbol": "AAPL", "qty": 1, "side": "buy", "type": "limit", "time_in_force": "day", "limit_price": "1"}
    for _ in range(orders):
        payload = json.dumps({**body, "client_order_id": uuid.uuid4().hex})
        t0 = time.perf_counter()
        conn.request("POST", "/v2/orders", payload, headers)
        resp = conn.getresponse()
        resp.read()
        latencies.append((time.perf_counter() - t0) * 1000)
        if resp.status != 200:
            errors.append(resp.status)
    conn.close()


def submit_rate(gateway: str, keys: list[tuple[str, str]], orders_per_client: int) -> tuple[float, list[float], int]:
    """(orders/s, latencies in ms, failures) with one thread per key."""
    latencies: list[float] = []
    errors: list[int] = []
    threads = [
        threading.Thread(target=_client, args=(gateway, key, orders_per_client, latencies, errors)) for key in keys
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.perf_counter() - t0), latencies, len(errors)


def _keys(state: Path, count: int) -> list[tuple[str, str]]:
    made = [paper_account(state, Decimal("1000000000")) for _ in range(count)]
    return [(m["APCA_API_KEY_ID"], m["APCA_API_SECRET_KEY"]) for m in made]


def bench_orders(quick: bool, row: object, header: object) -> None:
    from tradeplane_local.bench import pct

    per_client = 25 if quick else 150
    header(f"POST /v2/orders through the local gateway, {CLIENTS} clients x {per_client} orders")  # type: ignore[operator]
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        # Every book route is rate limited (200/min per account, like Alpaca); the bench measures the order
        # path, so the bucket is sized out of the way while its Redis round trip stays in the measurement.
        unlimited = {"TP_RATE_LIMIT_PER_MINUTE": "1000000"}
        report = stack.up(stack.UpOptions(state_dir=state, gateway_port=0, extra_env=unlimited))
        try:
            keys = _keys(state, CLIENTS)
            submit_rate(report.gateway, keys, 3)  # cold starts outside the measurement
            base, base_cpu = pgbench_measured(state, seconds=5 if quick else 15)
            for label, clients in (("one account per client", keys), ("all on one account", [keys[0]] * CLIENTS)):
                before = cpu_meter.reading(state)
                rate, lat, failed = submit_rate(report.gateway, clients, per_client)
                cpu = cpu_meter.per_operation_ms(before, cpu_meter.reading(state), len(lat))
                note = f"p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, {failed} failed; goal >= 0.5x"
                row(f"orders/s, {label}", f"{rate:.0f}/s", f"{base.tps:.0f} tps", f"{rate / base.tps:.2f}x", note)  # type: ignore[operator]
                row("  CPU per order", "", "", "", cpu_meter.describe(cpu))  # type: ignore[operator]
            row("  CPU per pgbench transaction", "", "", "", cpu_meter.describe(base_cpu))  # type: ignore[operator]
        finally:
            stack.down(state)
