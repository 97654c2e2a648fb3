"""Strategy runner throughput: bars/s through the `strategy_runner` handler with 20 enabled strategies,
against the same bars through the bare strategy loop (the same 20 strategy objects, `on_bar` in memory,
no I/O) in the same run.

The runner's figure includes all of its own I/O: MSK event parsing, the enabled-strategy lookups, state
in Redis (one MGET and one pipelined write per batch), the state rebuild of the first batch from stored
bars, signals stored in PostgreSQL and published to Kafka. The Core API is a stub answering at once
(account, no position, no open order, order accepted): its own cost is measured in the Core API's bench, and here it
would only measure the gateway. Wall-clock figures on a shared machine: compare the ratio.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradeplane_tools.manifest import Bindings, domain_paths

from tradeplane_local import events, servers
from tradeplane_local.bench_etl import _Context as _EtlContext
from tradeplane_local.bench_etl import _reset
from tradeplane_local.data_cli import DEFAULT_SYMBOLS, synth_rows

Row = Callable[..., None]
BATCH = 100  # strategy_runner's manifest batch size
# 20 strategies: five of each built-in type with different parameters, each trading every symbol.
STRATEGIES: list[tuple[str, dict[str, Any]]] = [
    *[("ma_crossover", {"fast": f, "slow": s}) for f, s in ((5, 20), (10, 30), (3, 12), (8, 21), (20, 50))],
    *[("rsi_reversion", {"period": p}) for p in (7, 10, 14, 21, 28)],
    *[("donchian_breakout", {"entry": e, "exit": x}) for e, x in ((20, 10), (10, 5), (30, 15), (55, 20), (15, 7))],
    *[
        ("bollinger_reversion", {"period": p, "k": k})
        for p, k in ((20, 2.0), (10, 1.5), (30, 2.5), (15, 2.0), (40, 1.0))
    ],
]


def _bars(minutes: int) -> list[Any]:
    from tradeplane.contracts.market import Bar

    rows = synth_rows("bars", DEFAULT_SYMBOLS, datetime(2026, 11, 24, 14, 30, tzinfo=UTC), minutes, seed=11)
    reader = csv.reader(io.StringIO("\n".join(",".join(r) for r in rows)))
    next(reader)
    return [
        Bar(symbol=s, interval="1m", bucket_start=datetime.fromisoformat(ts.replace("Z", "+00:00")), open=Decimal(o),
            high=Decimal(h), low=Decimal(lo), close=Decimal(c), volume=Decimal(v), trade_count=int(n))
        for ts, s, o, h, lo, c, v, n in reader
    ]  # fmt: skip


def _bare_loop(bars: list[Any]) -> float:
    """Seconds for the same bars through the 20 strategies in memory (state dicts, no I/O)."""
    from tp_strategy.registry import build
    from tp_strategy.runner import bar_input

    strategies = [build(t, p) for t, p in STRATEGIES]
    states: dict[tuple[int, str], Any] = {}
    t0 = time.perf_counter()
    for bar in bars:
        item = bar_input(bar)
        for i, strategy in enumerate(strategies):
            state = states.get((i, bar.symbol))
            if state is None:
                state = states[(i, bar.symbol)] = strategy.initial_state()
            strategy.on_bar(state, item)
    return time.perf_counter() - t0


def _seed(dsn: str, bars: list[Any]) -> int:
    """An account, the 20 strategies on every symbol, and the bars stored as the aggregator stores them."""
    import psycopg

    account = uuid.uuid4()
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "insert into core.users (id, username, password_hash) values (%s, %s, 'scrypt$bench')",
            (account, f"b{account.hex[:8]}"),
        )
        conn.execute(
            "insert into core.accounts (id, owner_id, account_number, currency) values (%s, %s, %s, 'USD')",
            (account, account, f"BENCH{account.hex[:8]}"),
        )
        for i, (kind, params) in enumerate(STRATEGIES):
            conn.execute(
                """insert into strategy.strategies (id, account_id, name, type, params, symbols, sizing, enabled)
                   values (%s, %s, %s, %s, %s, %s, '{"kind": "fixed_qty", "qty": 1}', true)""",
                (uuid.uuid4(), account, f"bench-{i}", kind, json.dumps(params), list(DEFAULT_SYMBOLS)),
            )
        with conn.cursor() as cur:
            cur.executemany(
                """insert into market.bars (symbol, interval, bucket_start, open, high, low, close, volume,
                                            trade_count, closed) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, true)""",
                [
                    (b.symbol, b.interval, b.bucket_start, b.open, b.high, b.low, b.close, b.volume, b.trade_count)
                    for b in bars
                ],
            )
    return len(STRATEGIES)


def _stub_core(method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float) -> Any:
    from tp_strategy.core_client import Response

    if url.endswith("/v2/account"):
        return Response(200, b'{"equity": "100000", "cash": "100000"}')
    if "/v2/positions/" in url:
        return Response(404, b'{"message": "position does not exist"}')
    if method == "GET":  # open orders
        return Response(200, b"[]")
    return Response(200, b"{}")


def _runner_handler(bindings: Bindings) -> Any:
    from tradeplane_tools.manifest import DEFAULT_MANIFEST, environment_for, load_manifest

    manifest = load_manifest(DEFAULT_MANIFEST)
    fn = manifest.function("strategy_runner")
    os.environ.update(environment_for(manifest, fn, bindings))
    os.environ.update({"AWS_LAMBDA_FUNCTION_NAME": "strategy_runner", "POWERTOOLS_TRACE_DISABLED": "true",
                       "LOG_LEVEL": "WARNING", "POWERTOOLS_LOG_LEVEL": "WARNING"})  # fmt: skip
    _reset()
    import importlib

    sys.modules.pop(f"{fn.folder}.handler", None)
    module = importlib.import_module(f"{fn.folder}.handler")
    from tp_strategy.core_client import CoreClient

    module.RUNNER.core = CoreClient("http://core.bench", lambda account: "bench", transport=_stub_core)
    return module


class _Context(_EtlContext):
    function_name = "strategy_runner"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:strategy_runner"


@contextlib.contextmanager
def _data_servers(state: Path) -> Iterator[tuple[servers.Server, ...]]:
    """Kafka, Redis and a non-durable PostgreSQL of the bench's own, stopped in reverse order."""
    started: list[servers.Server] = []
    try:
        started.append(servers.start("kafka", state / "kafka"))
        started.append(servers.start("redis", state / "redis"))
        started.append(servers.start("postgres", state / "postgres", durable=False))
        yield tuple(started)
    finally:
        _reset()
        for srv in reversed(started):
            servers.stop(srv)


def _events(bars: list[Any], bootstrap: str) -> list[dict[str, Any]]:
    from tradeplane.contracts.market import BAR_EVENT
    from tradeplane.envelope import Envelope

    out = []
    for start in range(0, len(bars), BATCH):
        records = []
        for i, bar in enumerate(bars[start : start + BATCH]):
            env = Envelope.new(BAR_EVENT, bar.model_dump(mode="python"), producer="bench")
            records.append(events.KafkaRecord("market.bars", 0, start + i, 0, bar.symbol.encode(), env.to_json()))
        out.append(events.msk_event(records, bootstrap))
    return out


def bench_strategy_runner(quick: bool, row: Row, header: Callable[[str], None]) -> None:
    from tradeplane_tools.migrate import apply_migrations

    sys.path[:0] = [str(p) for p in domain_paths() if str(p) not in sys.path]  # tp_strategy, as Lambda's /var/task
    minutes = 60 if quick else 390
    bars = _bars(minutes)
    header(
        f"Strategy runner ({len(bars)} one-minute bars of {len(DEFAULT_SYMBOLS)} symbols, {len(STRATEGIES)} strategies)"
    )
    bare_s = _bare_loop(bars)
    bare_rate = len(bars) / bare_s
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp).chmod(0o755)  # PostgreSQL may run as another user (pgserver) and must reach its folder
        with _data_servers(Path(tmp)) as (kafka, redis, postgres):
            apply_migrations(postgres.url)
            strategies = _seed(postgres.url, bars)
            bindings = Bindings(
                stage="local", db_dsn=postgres.url, redis_url=redis.url, kafka_bootstrap=kafka.url,
                secret_ids={"jwt-signing-keys": "unused"}, service_urls={"core": "http://core.bench"},
            )  # fmt: skip
            module = _runner_handler(bindings)
            batches = _events(bars, kafka.url)
            with contextlib.redirect_stdout(io.StringIO()):  # Powertools' metric lines
                t0 = time.perf_counter()
                outs = [module.handler(e, _Context()) for e in batches]
                runner_s = time.perf_counter() - t0
    runs, signals = sum(o["runs"] for o in outs), sum(o["signals"] for o in outs)
    rate = len(bars) / runner_s
    row("bare strategy loop (no I/O)", f"{bare_rate:,.0f} bars/s", "", "",
        f"{len(bars) * strategies:,} on_bar calls in memory")  # fmt: skip
    note = f"{runs:,} strategy runs, {signals} signals stored+published+ordered (stub Core API), batches of {BATCH}"
    row("strategy_runner handler", f"{rate:,.0f} bars/s", f"{bare_rate:,.0f} bars/s", f"{rate / bare_rate:.3f}x", note)
