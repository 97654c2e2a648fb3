"""`make bench` figures for the logging service (issue 13), each beside a baseline taken in the same run.

- log lines/s stored by log_aggregator's logic (decode gzip+base64, parse each line, COPY into the
  day partition, record the delivery) against a bare COPY of the same, already parsed rows into the
  same table with the same indexes (goal: at least 0.5x);
- the cost logging adds to an invocation of a hot handler (an access line and an event line through
  the masking formatter) against the same instrumented handler with those lines filtered out, and the
  masking formatter's share against Powertools' plain one.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradeplane_tools.manifest import REPO_ROOT
from tradeplane_tools.migrate import apply_migrations

from tradeplane_local import events, servers

Row = Callable[..., None]
LINES_PER_DELIVERY = 1000


def _sample_lines(n: int) -> list[events.LogLine]:
    """Lines shaped like the platform's: JSON with context and domain keys, some Lambda platform lines."""
    start = int(time.time() * 1000)
    out = []
    for i in range(n):
        if i % 10 == 0:
            message = f"REPORT RequestId: req-{i // 10}\tDuration: 3.21 ms\tBilled Duration: 4 ms"
        else:
            message = json.dumps(
                {
                    "level": "ERROR" if i % 97 == 0 else "INFO",
                    "location": "resolve:43",
                    "message": "request handled" if i % 2 else "event published",
                    "timestamp": "2026-11-29T12:00:00.000+00:00",
                    "service": "core",
                    "cold_start": False,
                    "function_name": "orders_submit",
                    "function_memory_size": 512,
                    "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:orders_submit",
                    "function_request_id": f"req-{i // 10}",
                    "correlation_id": f"flow-{i // 10}",
                    "account_id": "6f1c7a52-3b7e-4c7a-9a51-0d7b2b3c4d5e",
                    "order_id": f"0193{i:012d}",
                    "symbol": "AAPL",
                    "route": "POST /v2/orders",
                    "status": 200,
                }
            )
        out.append(events.LogLine(start + i, message))
    return out


def _deliveries(lines: list[events.LogLine]) -> list[dict[str, Any]]:
    return [
        events.cloudwatch_logs_event("orders_submit", f"stream-{i}", lines[i : i + LINES_PER_DELIVERY], "bench")
        for i in range(0, len(lines), LINES_PER_DELIVERY)
    ]


def _truncate(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("truncate ops.logs, ops.log_deliveries")
        c.execute("vacuum analyze ops.logs")


def bench_aggregator(dsn: str, lines: int, rounds: int, row: Row) -> None:
    import psycopg
    from tp_logging.aggregate import aggregate
    from tp_logging.lines import parse
    from tp_logging.store import copy_rows
    from tp_logging.subscription import decode, payload_of
    from tradeplane import db
    from tradeplane.settings import reset_settings

    os.environ["TP_DB_DSN"] = dsn
    reset_settings()
    deliveries = _deliveries(_sample_lines(lines))
    rows = [r for d in deliveries for r in parse(decode(payload_of(d))).rows]
    ours, bare = [], []
    for _ in range(rounds):  # alternate, so drift on a shared machine hits both alike
        _truncate(dsn)
        t0 = time.perf_counter()
        result = aggregate(deliveries, db.transaction)
        ours.append(time.perf_counter() - t0)
        assert result.stored == len(rows), result
        _truncate(dsn)
        with psycopg.connect(dsn) as conn:
            t0 = time.perf_counter()
            copy_rows(conn, rows)
            conn.commit()
            bare.append(time.perf_counter() - t0)
    db.close_pools()
    mine, base = len(rows) / statistics.median(ours), len(rows) / statistics.median(bare)
    row("log lines/s stored (aggregator)", f"{mine:,.0f}", f"{base:,.0f}", f"{mine / base:.2f}x", "baseline: bare COPY")


def _hot_handler() -> tuple[Callable[[], Any], Any]:
    from tradeplane.observability import instrument, log_keys, logger

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "orders_submit", 512, "req-1"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:orders_submit"

    event = {"headers": {"x-correlation-id": "flow-1"}, "requestContext": {"requestId": "r-1"}, "routeKey": "x"}

    @instrument(correlation_id_path="requestContext.requestId")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        log_keys(account_id="6f1c7a52-3b7e-4c7a-9a51-0d7b2b3c4d5e", symbol="AAPL")
        logger.info("request handled", extra={"route": "POST /v2/orders", "status": 200})
        logger.info("event published", extra={"event_id": "0193", "event_type": "order.submitted", "order_id": "o1"})
        return {"statusCode": 200, "body": "{}"}

    return (lambda: handler(event, Context())), logger


def _per_call_us(call: Callable[[], Any], n: int) -> float:
    t0 = time.process_time()
    for _ in range(n):
        call()
    return (time.process_time() - t0) / n * 1e6


def bench_logging_cost(calls: int, rounds: int, row: Row) -> None:
    import logging

    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    call, logger = _hot_handler()
    handler = logger.registered_handler
    stream = handler.setStream(io.StringIO())
    masking = handler.formatter
    plain = LambdaPowertoolsFormatter(utc=True, use_rfc3339=True)
    figures: dict[str, list[float]] = {"silent": [], "masked": [], "plain": []}
    try:
        for _ in range(rounds):  # CPU time, round-robin: wall time swings on a shared machine
            for name in figures:
                logger.setLevel(logging.WARNING if name == "silent" else logging.INFO)
                handler.setFormatter(plain if name == "plain" else masking)
                handler.setStream(io.StringIO())
                figures[name].append(_per_call_us(call, calls))
    finally:
        logger.setLevel(logging.INFO)
        handler.setFormatter(masking)
        handler.setStream(stream)
    silent, masked, unmasked = (statistics.median(figures[k]) for k in ("silent", "masked", "plain"))
    row("hot handler, 2 lines (CPU/call)", f"{masked:.0f} us", f"{silent:.0f} us", f"{masked / silent:.2f}x",
        f"baseline: lines filtered out; logging adds {masked - silent:.0f} us")  # fmt: skip
    row("  of which masking", f"{masked - unmasked:.0f} us", f"{unmasked:.0f} us", f"{masked / unmasked:.2f}x",
        "baseline: Powertools' plain formatter")  # fmt: skip


def bench_logs(quick: bool, row: Row, header: Callable[[str], None]) -> None:
    domain = str(REPO_ROOT / "functions" / "logging")
    if domain not in sys.path:
        sys.path.insert(0, domain)  # tp_logging imports as in Lambda, from its domain folder
    header("Logging (issue 13): lines stored per second, and what logging costs a hot handler")
    with tempfile.TemporaryDirectory() as tmp:
        pg = servers.start("postgres", Path(tmp) / "postgres")
        try:
            apply_migrations(pg.url)
            bench_aggregator(pg.url, lines=10_000 if quick else 50_000, rounds=1 if quick else 3, row=row)
        finally:
            servers.stop(pg)
    bench_logging_cost(calls=2000 if quick else 10_000, rounds=2 if quick else 5, row=row)
