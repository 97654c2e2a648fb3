"""Scaling figures for `tradeplane bench` (issue 16), each beside its ideal or baseline from the same run.

- An I/O-bound Kafka consumer (bench/functions/io_bound: 20 ms per batch of 10, no CPU) at 1, 2, 4
  and 6 partitions, against the ideal: partitions x the 1-partition rate. The function waits instead of
  computing, so the figure measures how well the local event source runs partitions side by side, not
  how many cores this machine has (goal: at least 0.8x the ideal at 4 partitions).
- The manifest's `bar_aggregator` (CPU and PostgreSQL bound) with the same ticks all on one partition,
  then spread over the topic's 6 partitions.
- The streaming replica's replay lag (`pg_stat_replication.replay_lag`, with the WAL bytes not yet
  replayed), sampled every 10 ms on the primary while the bar aggregator writes. It has no baseline on
  this machine to compare with: the figures stand alone, in milliseconds and bytes.

Every round starts with the function's containers warm (cold starts are `bench_init`'s subject), counts
records in successful invocations, and times from the round's first invocation to the one that
completes its last record.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradeplane_tools.manifest import REPO_ROOT

from tradeplane_local import provision, servers
from tradeplane_local.host import InvokeResult
from tradeplane_local.kafka_chaos import FUNCTION as BAR_AGGREGATOR
from tradeplane_local.kafka_chaos import chaos_runtime, local_runtime, tick_envelope
from tradeplane_local.kafka_source import KafkaEventSource
from tradeplane_local.runtime import Runtime

SCALING_MANIFEST = REPO_ROOT / "bench" / "functions" / "scaling.toml"
PARTITION_COUNTS = (1, 2, 4, 6)
TICK_TOPIC = "market.ticks"
TICK_PARTITIONS = 6
SYMBOLS = 12  # a multiple of TICK_PARTITIONS: every partition gets the same share of symbols
LAG_SAMPLE_S = 0.01
ROUND_TIMEOUT_S = 120.0

Row = Callable[..., None]
Header = Callable[[str], None]
Record = tuple[int, bytes, bytes]  # partition, key, value


class Completion:
    """Wraps a source's invoke: counts records of successful invocations and times a round."""

    def __init__(self, source: KafkaEventSource) -> None:
        self._invoke = source.invoke
        self._cond = threading.Condition()
        self.records = 0
        self.first_start: float | None = None
        self.done_at = 0.0
        source.invoke = self.invoke

    def invoke(self, event: dict[str, Any]) -> InvokeResult:
        started = time.perf_counter()
        with self._cond:
            if self.first_start is None:
                self.first_start = started
        result = self._invoke(event)
        if result.ok:
            count = sum(len(records) for records in event.get("records", {}).values())
            with self._cond:
                self.records += count
                self.done_at = time.perf_counter()
                self._cond.notify_all()
        return result

    def reset(self) -> None:
        with self._cond:
            self.records, self.first_start, self.done_at = 0, None, 0.0

    def rate(self, records: int, timeout_s: float = ROUND_TIMEOUT_S) -> float:
        """Records per second once `records` were handled (first invocation to the last one's end)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.records >= records, timeout_s):
                raise TimeoutError(f"only {self.records} of {records} records handled in {timeout_s:.0f} s")
            assert self.first_start is not None
            return self.records / max(self.done_at - self.first_start, 1e-9)


def produce(bootstrap: str, topic: str, records: Sequence[Record]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for partition, key, value in records:
        producer.produce(topic, key=key, value=value, partition=partition)
        producer.poll(0)
    if producer.flush(30):
        raise RuntimeError(f"{topic}: records not acknowledged")


def _source(runtime: Runtime, function: str) -> KafkaEventSource:
    return next(s for s in runtime.sources if s.cfg.function == function)


# --------------------------------------------------------------------------- I/O-bound consumer


def _io_round(bootstrap: str, completion: Completion, topic: str, partitions: int, per_partition: int) -> float:
    """Round-robin over the partitions, so every partition's backlog grows alike while the round runs."""
    records = [(i % partitions, f"k{i}".encode(), b"{}") for i in range(partitions * per_partition)]
    completion.reset()
    produce(bootstrap, topic, records)
    return completion.rate(len(records))


def io_rates(bootstrap: str, state: Path, per_partition: int, rounds: int) -> dict[int, float]:
    """Median records/s of the I/O-bound consumer per partition count."""
    runtime = local_runtime(state, SCALING_MANIFEST, bootstrap=bootstrap, max_concurrency=max(PARTITION_COUNTS))
    try:
        rates = {}
        for partitions in PARTITION_COUNTS:
            function = f"io_p{partitions}"
            runtime.hosts[function].warm_many(partitions)
            completion = Completion(_source(runtime, function))
            topic = f"scale_p{partitions}"
            samples = [_io_round(bootstrap, completion, topic, partitions, per_partition) for _ in range(rounds)]
            rates[partitions] = statistics.median(samples)
        return rates
    finally:
        runtime.stop()


# --------------------------------------------------------------------------- replica lag


@dataclass
class LagSamples:
    seconds: list[float]
    bytes_behind: list[int]


class LagSampler:
    """Samples the standby's replay lag as the primary reports it, on one connection, every LAG_SAMPLE_S.

    A standby with nothing left to replay reports no lag (NULL): counted as 0."""

    def __init__(self, primary_url: str) -> None:
        self.primary_url = primary_url
        self._stop = threading.Event()
        self._samples = LagSamples([], [])

    def _run(self) -> None:
        import psycopg

        query = (
            "select coalesce(extract(epoch from replay_lag), 0)::float8,"
            " pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint from pg_stat_replication"
        )
        with psycopg.connect(self.primary_url, autocommit=True) as conn:
            while not self._stop.wait(LAG_SAMPLE_S):
                for seconds, behind in conn.execute(query).fetchall():
                    self._samples.seconds.append(float(seconds))
                    self._samples.bytes_behind.append(int(behind or 0))

    @contextmanager
    def sampling(self) -> Iterator[LagSamples]:
        self._stop.clear()
        self._samples = LagSamples([], [])
        thread = threading.Thread(target=self._run, name="replica-lag", daemon=True)
        thread.start()
        try:
            yield self._samples
        finally:
            self._stop.set()
            thread.join(5)


# --------------------------------------------------------------------------- bar aggregator


def tick_records(partitions: int, ticks: int) -> list[Record]:
    """`ticks` ticks over SYMBOLS symbols of a fresh run, each symbol always on the same partition (its key)."""
    run = uuid.uuid4().hex
    symbols = [f"S{run[:6].upper()}{i:02d}" for i in range(SYMBOLS)]
    base = datetime.now(UTC).replace(second=0, microsecond=0)
    out = []
    for seq in range(ticks):
        index = seq % SYMBOLS
        _, value = tick_envelope(run, 0, seq, symbols[index], base)
        out.append((index % partitions, symbols[index].encode(), value))
    return out


@dataclass
class AggregatorFigures:
    rates: dict[int, float]  # ticks/s by the number of partitions the ticks were spread over
    lag: LagSamples  # while both rounds ran


@contextmanager
def _database_with_replica(state: Path) -> Iterator[tuple[servers.Server, servers.Server]]:
    state.mkdir(mode=0o755, exist_ok=True)  # PostgreSQL may run as another user (pgserver)
    state.chmod(0o755)
    primary = servers.start("postgres", state, durable=False)
    try:
        provision.migrate(primary.url or "")
        replica = servers.start_postgres_replica(state, primary, durable=False)
        try:
            yield primary, replica
        finally:
            servers.stop(replica)
    finally:
        servers.stop(primary)


def aggregator_figures(bootstrap: str, state: Path, ticks: int) -> AggregatorFigures:
    redis = servers.start("redis", state)
    try:
        with _database_with_replica(state / "db") as (primary, _replica):
            assert primary.url
            runtime = chaos_runtime(
                state / "runtime", primary.url, bootstrap, redis.url or "", max_concurrency=TICK_PARTITIONS
            )
            try:
                runtime.hosts[BAR_AGGREGATOR].warm_many(TICK_PARTITIONS)
                completion = Completion(_source(runtime, BAR_AGGREGATOR))
                rates = {}
                with LagSampler(primary.url).sampling() as lag:
                    for partitions in (1, TICK_PARTITIONS):
                        completion.reset()
                        produce(bootstrap, TICK_TOPIC, tick_records(partitions, ticks))
                        rates[partitions] = completion.rate(ticks)
                return AggregatorFigures(rates, lag)
            finally:
                runtime.stop()
    finally:
        servers.stop(redis)


# --------------------------------------------------------------------------- report


def _report_io(rates: dict[int, float], per_partition: int, rounds: int, row: Row, header: Header) -> None:
    header(
        f"Kafka consumer throughput by partitions (I/O-bound function: 20 ms per batch of 10; "
        f"{per_partition} records per partition, median of {rounds} rounds)"
    )
    one = rates[1]
    for partitions, rate in rates.items():
        ideal = partitions * one
        goal = "; goal >= 0.8x at 4" if partitions == 4 else ""
        row(
            f"{partitions} partition(s)",
            f"{rate:.0f} rec/s",
            f"{ideal:.0f} rec/s",
            f"{rate / ideal:.2f}x",
            f"ideal{goal}",
        )


def _report_aggregator(
    figures: AggregatorFigures, ticks: int, pct: Callable[[list[float], float], float], row: Row, header: Header
) -> None:
    header(f"bar_aggregator ticks/s ({ticks} ticks on 1 partition, then spread over {TICK_PARTITIONS})")
    one = figures.rates[1]
    for partitions, rate in figures.rates.items():
        row(
            f"ticks on {partitions} partition(s)",
            f"{rate:.0f}/s",
            f"{one:.0f}/s",
            f"{rate / one:.2f}x",
            f"baseline: 1 partition; ideal {partitions}.00x, but CPU and PostgreSQL bound on 2 shared cores",
        )
    header("streaming replica replay lag under the bar aggregator's writes (sampled every 10 ms on the primary)")
    lag = figures.lag
    for q, label in ((0.5, "p50"), (0.99, "p99")):
        behind = pct([float(b) for b in lag.bytes_behind], q) / 1024
        row(
            f"replay lag {label}",
            f"{pct(lag.seconds, q) * 1000:.1f} ms",
            "",
            "",
            f"WAL not yet replayed {label} {behind:.0f} KiB; {len(lag.seconds)} samples",
        )


def bench_scaling(quick: bool, row: Row, header: Header) -> None:
    from tradeplane_local.bench import pct

    per_partition, rounds = (300, 2) if quick else (600, 3)
    ticks = 6000 if quick else 12000
    with tempfile.TemporaryDirectory() as tmp:
        kafka = servers.start("kafka", Path(tmp))
        try:
            assert kafka.url
            rates = io_rates(kafka.url, Path(tmp) / "io", per_partition, rounds)
            _report_io(rates, per_partition, rounds, row, header)
            figures = aggregator_figures(kafka.url, Path(tmp) / "agg", ticks)
            _report_aggregator(figures, ticks, pct, row, header)
        finally:
            servers.stop(kafka)
