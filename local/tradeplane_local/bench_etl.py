"""Market data ETL throughput, each against a bare loop producing pre-serialised messages with the same
producer in the same run (goal: >= 50k ticks/s and >= 0.5x the bare loop):

- parse + clean + produce: a CSV of synthetic trades through `tp_etl`'s reader, cleaner and event
  builder, published with `tradeplane.kafka_producer` in chunks (as `ingest_s3` does) and flushed;
- the aggregator: the manifest's `bar_aggregator` handler, in this process, on MSK events of 500
  records built from those ticks beforehand (envelopes parsed, inbox claims, bar merges and closes in
  PostgreSQL, bars published, latest prices to Redis).

The bare loop: the very records the columnar path publishes (key, envelope JSON and the contract's headers:
`type`, `id`, and `correlation_id` when there is one), serialised before the clock starts, then `produce` (a
`poll(0)` every 1,000, as `kafka_producer` does) + `flush` on the same producer instance. Every topic is
created and its metadata fetched before any clock starts (a first produce to a new topic waits for both). The
bare loop and the columnar path run three times, alternated, and each figure is the median of its three (the row
path, ~10x slower, runs once). Wall-clock figures on a shared machine:
compare the ratios.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from tradeplane_tools.manifest import DEFAULT_MANIFEST, Bindings, domain_paths, environment_for, load_manifest

from tradeplane_local import events, servers
from tradeplane_local.data_cli import DEFAULT_SYMBOLS, synth_rows, write_synth

CHUNK = 5_000
ROUNDS = 3  # bare loop and columnar path, alternated
BATCH = 500  # bar_aggregator's manifest batch size
Row = Callable[..., None]


def _csv_text(minutes: int) -> tuple[str, int]:
    out = io.StringIO()
    start = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
    count = write_synth(out, synth_rows("trades", DEFAULT_SYMBOLS, start, minutes, seed=7))
    return out.getvalue(), count


class _Clock:
    """Wall and process CPU seconds of a block: on a shared machine the CPU figure is the steadier one
    (it counts librdkafka's threads too; the database's and Redis's own processes are not in it)."""

    def __enter__(self) -> _Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def _ingest(text: str, topic: str, *, columnar: bool) -> _Clock:
    """Parse + clean + build + produce + flush: the row path (`read_csv`, `Cleaner`, `EventWriter`, records as
    `tp_etl.delivery` sends `Outgoing`s) or the columnar one ingest_s3 takes (`trade_columns.file_batches` over
    the file's bytes, each batch's records as they are)."""
    from tp_etl.cleaning import Cleaner
    from tp_etl.formats import RowContext, read_csv
    from tp_etl.pipeline import events as ingest_events
    from tp_etl.report import IngestReport
    from tradeplane import kafka_producer

    with _Clock() as clock:
        if columnar:
            for batch in _batches(text.encode(), IngestReport("bench")):
                kafka_producer.publish_serialized(topic, batch.records, max_header_bytes=batch.header_bytes)
        else:
            chunk: list[Any] = []
            rows = read_csv(csv.reader(io.StringIO(text)), RowContext())
            built = ingest_events(rows, Cleaner(), IngestReport("bench"), **_SOURCE)
            for event in built:
                chunk.append((event.key.encode(), event.value, event.headers()))  # as tp_etl.delivery sends them
                if len(chunk) >= CHUNK:
                    kafka_producer.publish_serialized(topic, chunk)
                    chunk = []
            kafka_producer.publish_serialized(topic, chunk)
        kafka_producer.flush(60)
    return clock


_SOURCE: dict[str, Any] = {"identity": "bench", "producer": "bench", "correlation_id": None}


def _batches(data: bytes, report: Any) -> Iterator[Any]:
    from tp_etl.cleaning import CleaningRules
    from tp_etl.formats import RowContext
    from tp_etl.trade_columns import file_batches

    return file_batches(io.BytesIO(data), RowContext(), None, CleaningRules(), report, **_SOURCE)


def _bare(records: list[tuple[bytes, bytes, Any]], topic: str) -> _Clock:
    """Produce pre-serialised records (key, value, headers) with the same producer, and flush."""
    from tradeplane import kafka_producer

    p = kafka_producer.producer()
    with _Clock() as clock:
        for count, (key, value, headers) in enumerate(records, 1):
            while True:
                try:
                    p.produce(topic, value=value, key=key, headers=headers)
                    break
                except BufferError:
                    p.poll(0.1)
            if count % kafka_producer.POLL_EVERY == 0:
                p.poll(0)
        p.flush(60)
    return clock


def _warm(records: list[tuple[bytes, bytes, Any]], *topics: str) -> None:
    """Create each topic and fetch its metadata before any clock starts (both sides alike)."""
    for topic in topics:
        _bare(records[:100], topic)


def _serialised(text: str) -> list[tuple[bytes, bytes, Any]]:
    """The records the columnar path publishes (the same source identity: the same ids)."""
    from tp_etl.report import IngestReport

    return [record for batch in _batches(text.encode(), IngestReport("b")) for record in batch.records]


def _median(runs: list[_Clock]) -> _Clock:
    median = _Clock()
    median.wall, median.cpu = statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs)
    return median


def _cpu_split(text: str) -> dict[str, float]:
    """CPU microseconds per row of reading, cleaning and writing the event bytes (no producer), both paths."""
    from tp_etl.cleaning import Cleaner
    from tp_etl.formats import RowContext, read_csv
    from tp_etl.pipeline import events as ingest_events
    from tp_etl.report import IngestReport

    def rows() -> int:
        parsed = read_csv(csv.reader(io.StringIO(text)), RowContext())
        return sum(1 for _ in ingest_events(parsed, Cleaner(), IngestReport("b"), **_SOURCE))

    def columnar() -> int:
        return sum(len(batch) for batch in _batches(text.encode(), IngestReport("b")))

    runs = {"rows": rows, "columnar": columnar}
    figures = {}
    for name, run in runs.items():
        with _Clock() as clock:
            count = run()
        figures[name] = clock.cpu / count * 1e6
    return figures


def _rates(row: Row, name: str, count: int, measured: _Clock, bare: _Clock, note: str) -> None:
    for label, mine, theirs in (("", measured.wall, bare.wall), (" per CPU-s", measured.cpu, bare.cpu)):
        rate, base = count / mine, count / theirs
        shown = note if not label else "the same runs, process CPU time"
        row(f"ticks/s {name}{label}", f"{rate:,.0f}/s", f"{base:,.0f}/s", f"{rate / base:.2f}x", shown)


def _aggregator(bindings: Bindings) -> ModuleType:
    manifest = load_manifest(DEFAULT_MANIFEST)
    fn = manifest.function("bar_aggregator")
    for key, value in environment_for(manifest, fn, bindings).items():
        os.environ[key] = value
    os.environ.update({"AWS_LAMBDA_FUNCTION_NAME": "bar_aggregator", "POWERTOOLS_TRACE_DISABLED": "true",
                       "LOG_LEVEL": "WARNING", "POWERTOOLS_LOG_LEVEL": "WARNING"})  # fmt: skip
    _reset()
    sys.modules.pop(f"{fn.folder}.handler", None)
    return importlib.import_module(f"{fn.folder}.handler")


def _reset() -> None:
    from tradeplane import db, kafka_producer, redis_client
    from tradeplane.settings import reset_settings

    db.close_pools()
    redis_client.close_client()
    kafka_producer.close_producer()
    reset_settings()


def _msk_events(messages: list[tuple[bytes, bytes]], bootstrap: str) -> Iterator[dict[str, Any]]:
    for start in range(0, len(messages), BATCH):
        batch = messages[start : start + BATCH]
        records = [events.KafkaRecord("market.ticks", 0, start + i, 0, k, v) for i, (k, v) in enumerate(batch)]
        yield events.msk_event(records, bootstrap)


class _Context:
    function_name = "bar_aggregator"
    memory_limit_in_mb = 512
    aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bar_aggregator"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def bench_etl(quick: bool, row: Row, header: Callable[[str], None]) -> None:
    from tradeplane_tools.migrate import apply_migrations

    sys.path[:0] = [str(p) for p in domain_paths() if str(p) not in sys.path]  # tp_etl, as Lambda's /var/task
    minutes = 10 if quick else 60
    text, ticks = _csv_text(minutes)
    header(f"Market data ETL ({ticks} synthetic trades of {len(DEFAULT_SYMBOLS)} symbols; goal >= 50k/s, >= 0.5x)")
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        state.chmod(0o755)  # PostgreSQL may run as another user (pgserver) and must reach its folder
        started = [servers.start("kafka", state / "kafka"), servers.start("redis", state / "redis"),
                   servers.start("postgres", state / "postgres", durable=False)]  # fmt: skip
        kafka, redis, postgres = started
        try:
            apply_migrations(postgres.url)
            os.environ["TP_KAFKA_BOOTSTRAP"] = kafka.url
            _reset()
            _cpu_split("\n".join(text.splitlines()[:2000]))  # first calls: pyarrow's kernels, imports (once a process)
            bare_msgs = _serialised(text)
            _warm(bare_msgs, "bench.bare", "bench.ingest", "bench.columns")
            bares, columnar = [], []
            for _ in range(ROUNDS):  # alternated, so a neighbour's load falls on both sides alike
                bares.append(_bare(bare_msgs, "bench.bare"))
                columnar.append(_ingest(text, "bench.columns", columnar=True))
            ingest = _ingest(text, "bench.ingest", columnar=False)
            bare, columns = _median(bares), _median(columnar)
            baseline = f"baseline: the same records pre-serialised, same producer (median of {ROUNDS} alternated runs)"
            _rates(row, "parse+clean+produce (rows)", ticks, ingest, bare, baseline)
            _rates(row, "parse+clean+produce", ticks, columns, bare,
                   f"columnar (ingest_s3's path, median of {ROUNDS}), same baseline")  # fmt: skip
            cpu = _cpu_split(text)
            row(
                "us/row CPU, columnar, no Kafka",
                f"{cpu['columnar']:.2f}",
                f"{cpu['rows']:.2f}",
                f"{cpu['rows'] / cpu['columnar']:.1f}x",
                "parse+clean+event bytes; baseline: the row path",
            )
            handler = _aggregator(Bindings(stage="local", db_dsn=postgres.url, redis_url=redis.url,
                                           kafka_bootstrap=kafka.url))  # fmt: skip
            batches = list(_msk_events([(k, v) for k, v, _ in bare_msgs], kafka.url))
            with contextlib.redirect_stdout(io.StringIO()), _Clock() as agg:  # Powertools' metric lines
                applied = sum(handler.handler(e, _Context())["applied"] for e in batches)
            _rates(row, "bar_aggregator", applied, agg, bare, f"{applied} applied in batches of {BATCH}, PG + Redis")
        finally:
            _reset()
            for srv in reversed(started):
                servers.stop(srv)
