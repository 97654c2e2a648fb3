"""Conservation under chaos for the Kafka event source (issue 8).

Several clients produce ticks to the consumer's topic while the consumer's
containers are SIGKILLed and its Kafka source is restarted; then every tick
the broker acknowledged must have been aggregated exactly once (in
`ops.inbox`, counted once in `market.bars.trade_count`) or be in the
dead-letter topic. The consumer is the manifest's real `bar_aggregator`, run
by the local `Runtime` against real servers.

Used by `tests/stress/` (many rounds) and `tradeplane bench` (figures beside
a bare consumer draining the same records).
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from tradeplane_tools.manifest import DEFAULT_MANIFEST, KafkaTrigger, Manifest, load_manifest

from tradeplane_local import provision
from tradeplane_local.host import InvokeResult
from tradeplane_local.kafka_source import KafkaEventSource, SourceStats
from tradeplane_local.redeliveries import RedeliveryLedger, Tally
from tradeplane_local.runtime import Runtime, RuntimeConfig

FUNCTION = "bar_aggregator"
TICK_TYPE = "market.tick"
SOURCE_COUNTERS = (
    "records",
    "batches",
    "failed_invocations",
    "gaps",
    "gap_offsets_skipped",
    "replays_skipped",
    "offset_resets",
)


@dataclass(frozen=True)
class ChaosPlan:
    records: int = 600
    clients: int = 3
    kills: int = 2
    restarts: int = 1
    symbols: int = 12
    produce_s: float = 1.0  # production is spread over this long, so kills land mid-stream
    busy_at_kill: int = 1  # a kill waits (up to 2 s) until this many containers are in an invocation
    drain_timeout_s: float = 90.0


@dataclass
class RoundReport:
    acked: int = 0
    applied: int = 0  # acknowledged ticks in ops.inbox
    dead_lettered: int = 0  # acknowledged ticks in the dead-letter topic
    missing: list[str] = field(default_factory=list)  # acknowledged, neither applied nor dead-lettered
    trade_count: int = 0  # market.bars' count of ticks folded in: equals `applied` when each applied once
    # Redeliveries, judged per invocation (tradeplane_local.redeliveries): at least once, no more.
    duplicates: int = 0  # redelivered ticks the function's inbox recognised
    failed_records: int = 0  # records of failed invocations (a kill after the commit applied them once already)
    redelivered: int = 0  # records handed over again after a failed invocation of theirs
    answered_again: int = 0  # records handed over again after an answered invocation: never allowed
    unexplained_duplicates: int = 0  # duplicates their own invocation did not redeliver after a failure
    redelivery_notes: list[str] = field(default_factory=list)  # the invocations behind the two figures above
    kills: int = 0
    restarts: int = 0
    seed: int = 0  # the driver's chaos seed
    seconds: float = 0.0  # first produce to every tick accounted for and every invocation answered
    peak_in_flight: int = 0  # most invocations (so partitions' batches) running at once
    busy_at_kills: list[int] = field(default_factory=list)  # containers in an invocation when each kill landed
    baseline_seconds: float = 0.0  # a bare consumer draining the same records
    source: dict[str, int] = field(default_factory=dict)
    # When ticks are missing: where the broker has them, and the source's view of each partition.
    missing_at: dict[str, tuple[int, int]] = field(default_factory=dict)
    partitions: dict[int, dict[str, int]] = field(default_factory=dict)
    source_log: list[str] = field(default_factory=list)

    @property
    def conserved(self) -> bool:
        return not self.missing and self.trade_count == self.applied


def tick_envelope(run: str, client: int, seq: int, symbol: str, base: datetime) -> tuple[str, bytes]:
    """A `market.tick` envelope, written to the wire contract (not through a domain module that may move)."""
    event_id = f"t-{run}-{client}-{seq}"
    ts = (base + timedelta(milliseconds=seq * 37 + client)).isoformat().replace("+00:00", "Z")
    data = {"source": f"chaos-{run}", "symbol": symbol, "price": f"{100 + seq % 50}.25", "size": "1", "ts": ts}
    envelope = {
        "id": event_id,
        "type": TICK_TYPE,
        "version": 1,
        "occurred_at": ts,
        "producer": "chaos",
        "data": {**data, "seq": seq},
    }
    return event_id, json.dumps(envelope, separators=(",", ":")).encode()


def _event_id(msg: Any) -> str:
    return str(json.loads(msg.value() or b"{}").get("id", ""))


class _Acks:
    """Delivery reports of every client: the acknowledged ids and each partition's first offset."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.first_offset: dict[int, int] = {}
        self._lock = threading.Lock()

    def report(self, err: Any, msg: Any) -> None:
        if err is not None:
            return
        with self._lock:
            self.ids.add(_event_id(msg))
            p = msg.partition()
            self.first_offset[p] = min(self.first_offset.get(p, msg.offset()), msg.offset())


def _produce(bootstrap: str, topic: str, run: str, client: int, plan: ChaosPlan, acks: _Acks) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5})
    symbols = [f"Q{run[:8].upper()}{i:02d}" for i in range(plan.symbols)]
    base = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    share = plan.records // plan.clients
    bursts = 10
    for seq in range(share):
        symbol = symbols[(seq * plan.clients + client) % len(symbols)]
        _, value = tick_envelope(run, client, seq, symbol, base)
        producer.produce(topic, key=symbol.encode(), value=value, on_delivery=acks.report)  # keyed as ingest keys
        if (seq + 1) % max(1, share // bursts) == 0:
            producer.poll(0)
            time.sleep(plan.produce_s / bursts)
    producer.flush(30)


class ChaosDriver:
    """Runs rounds against a started Runtime whose manifest has the `bar_aggregator` consumer."""

    def __init__(self, runtime: Runtime, dsn: str, bootstrap: str, seed: int | None = None) -> None:
        self.runtime = runtime
        self.dsn = dsn
        self.bootstrap = bootstrap
        # A new timing each run explores more interleavings; the seed is in every report to replay one.
        self.seed = seed if seed is not None else int.from_bytes(os.urandom(4), "big")
        self.rng = random.Random(self.seed)  # noqa: S311 - chaos timing, not security
        trigger = next(t for t, fn in runtime.manifest.kafka_consumers() if fn.name == FUNCTION)
        assert isinstance(trigger, KafkaTrigger)
        self.topic = trigger.topic
        self.dlq_topic = runtime.manifest.function(FUNCTION).dead_letter_topic(trigger)
        self.host = runtime.hosts[FUNCTION]
        self._dead: set[str] = set()
        self._dlq_reader = self._reader(self.dlq_topic, None)
        self.ledger = RedeliveryLedger()
        self._in_flight = 0
        self._peak = 0
        self._closed: dict[str, int] = {}  # counters of sources replaced by a restart
        self._lock = threading.Lock()
        self._wrap(self._source())
        self.host.warm_many(self.host.cfg.max_concurrency)  # cold starts are not part of any round

    # ------------------------------------------------------------------ wiring

    def _source(self) -> KafkaEventSource:
        return next(s for s in self.runtime.sources if s.cfg.function == FUNCTION)

    def _wrap(self, source: KafkaEventSource) -> None:
        """Count every invocation's records and answer in the ledger (the inbox's duplicates come from the
        function's own answers). `host.invoke` is looked up per call, so a test can put a fault in front of it."""

        def counting(event: dict[str, Any]) -> InvokeResult:
            with self._lock:
                self._in_flight += 1
                self._peak = max(self._peak, self._in_flight)
            try:
                result = self.host.invoke(event)
            finally:
                with self._lock:
                    self._in_flight -= 1
            self.ledger.count(event, result)
            return result

        source.invoke = counting

    def _counters(self) -> dict[str, int]:
        stats: SourceStats = self._source().stats
        now = asdict(stats)
        return {k: self._closed.get(k, 0) + int(now[k]) for k in SOURCE_COUNTERS}

    def _reader(self, topic: str, starts: dict[int, int] | None) -> Consumer:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"chaos-{uuid.uuid4().hex[:8]}"})
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        offsets = starts or dict.fromkeys(parts, 0)
        consumer.assign([TopicPartition(topic, p, o) for p, o in offsets.items()])
        return consumer

    # ------------------------------------------------------------------ chaos

    def kill_one(self, wait_s: float = 2.0, busy: int = 1) -> int | None:
        """SIGKILL a container in the middle of an invocation, once `busy` containers are in one (or whichever
        are when the wait ends; any live one if none is). Returns how many were busy, None if none was killed."""
        deadline = time.monotonic() + wait_s
        while len(pids := self.host.worker_pids(busy_only=True)) < busy and time.monotonic() < deadline:
            time.sleep(0.001)
        deadline = time.monotonic() + wait_s
        while not pids and time.monotonic() < deadline:  # fewer busy than asked: still kill mid-invocation
            pids = self.host.worker_pids(busy_only=True)
            time.sleep(0.001)
        busy_now = len(pids)
        pids = pids or self.host.worker_pids()
        if not pids:
            return None
        try:
            os.killpg(self.rng.choice(pids), signal.SIGKILL)  # a container crash, not a polite exit
        except ProcessLookupError:
            return None
        return busy_now

    def restart_source(self) -> None:
        old = self._source()
        old.stop()
        now = asdict(old.stats)
        for k in SOURCE_COUNTERS:
            self._closed[k] = self._closed.get(k, 0) + int(now[k])
        new = old.clone()
        self._wrap(new)
        new.start()
        self.runtime.sources[self.runtime.sources.index(old)] = new
        new.ready.wait(15)

    def _chaos(self, plan: ChaosPlan, report: RoundReport) -> None:
        actions = ["kill"] * plan.kills + ["restart"] * plan.restarts
        self.rng.shuffle(actions)
        for action in actions:
            time.sleep(self.rng.uniform(0.05, plan.produce_s * 1.5 / max(1, len(actions))))
            if action == "restart":
                self.restart_source()
                report.restarts += 1
            elif (busy := self.kill_one(busy=plan.busy_at_kill)) is not None:
                report.kills += 1
                report.busy_at_kills.append(busy)

    # ------------------------------------------------------------------ checking

    def _dead_lettered(self) -> set[str]:
        while (msg := self._dlq_reader.poll(0.05)) is not None:
            if not msg.error():
                self._dead.add(_event_id(msg))
        return self._dead

    def _applied(self, run: str, symbols: list[str]) -> tuple[set[str], int]:
        import psycopg

        with psycopg.connect(self.dsn) as conn:
            ids = conn.execute(
                "select event_id from ops.inbox where consumer = %s and event_id like %s", (FUNCTION, f"t-{run}-%")
            ).fetchall()
            count = conn.execute(
                "select coalesce(sum(trade_count), 0) from market.bars where symbol = any(%s) and interval = '1m'",
                (symbols,),
            ).fetchone()
        return {r[0] for r in ids}, int(count[0] if count else 0)

    def _settle(self, run: str, plan: ChaosPlan, acks: _Acks, report: RoundReport) -> None:
        symbols = [f"Q{run[:8].upper()}{i:02d}" for i in range(plan.symbols)]
        deadline = time.monotonic() + plan.drain_timeout_s
        while True:
            applied, trade_count = self._applied(run, symbols)
            dead = self._dead_lettered() & acks.ids
            missing = acks.ids - applied - dead
            # Every tick applied is not every invocation answered: a batch's commit comes before its answer, and
            # the retry of one killed after its commit is still due. Those answers belong to this round's figures.
            if (not missing and self._source().settled()) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        report.applied, report.trade_count = len(applied & acks.ids), trade_count
        report.dead_lettered, report.missing = len(dead), sorted(missing)

    def _diagnose(self, report: RoundReport, acks: _Acks) -> None:
        """For missing ticks: their partition and offset on the broker, and each partition's offsets in the source."""
        wanted = set(report.missing)
        consumer = self._reader(self.topic, dict.fromkeys(acks.first_offset, 0))
        deadline = time.monotonic() + 20
        while wanted - set(report.missing_at) and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.2):
                if not msg.error() and _event_id(msg) in wanted:
                    report.missing_at[_event_id(msg)] = (msg.partition() or 0, msg.offset() or 0)
        consumer.close()
        log = self.runtime.state_dir / "logs" / "functions.jsonl"
        lines = log.read_text().splitlines() if log.exists() else []
        report.source_log = [json.loads(line)["msg"] for line in lines if "kafka source" in line][-20:]
        source = self._source()
        report.partitions = {
            p: {"next": s.next_offset, "delivered": s.delivered, "committed": s.committed, "buffered": len(s.buffer)}
            for p, s in source._parts.items()
        }

    def _baseline(self, acks: _Acks) -> float:
        """A bare consumer draining the same records from the broker, without invoking anything."""
        consumer = self._reader(self.topic, dict(acks.first_offset))
        seen: set[str] = set()
        t0 = time.perf_counter()
        deadline = time.monotonic() + 30
        while len(seen) < len(acks.ids) and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.2):
                if not msg.error():
                    seen.add(_event_id(msg))
            seen &= acks.ids
        elapsed = time.perf_counter() - t0
        consumer.close()
        return elapsed

    def round(self, plan: ChaosPlan) -> RoundReport:
        run = uuid.uuid4().hex
        report = RoundReport(seed=self.seed)
        acks = _Acks()
        before = self._counters()
        self.host.warm_many(self.host.cfg.max_concurrency)  # containers killed last round: not this one's cold starts
        tally_before = self.ledger.tally
        with self._lock:
            self._peak = self._in_flight
        t0 = time.perf_counter()
        clients = [
            threading.Thread(target=_produce, args=(self.bootstrap, self.topic, run, c, plan, acks))
            for c in range(plan.clients)
        ]
        for t in clients:
            t.start()
        self._chaos(plan, report)
        for t in clients:
            t.join()
        report.acked = len(acks.ids)
        self._settle(run, plan, acks, report)
        report.seconds = time.perf_counter() - t0
        if report.missing:
            self._diagnose(report, acks)
        report.baseline_seconds = self._baseline(acks)
        after = self._counters()
        report.source = {k: after[k] - before[k] for k in SOURCE_COUNTERS}
        report.peak_in_flight = self._peak
        tally: Tally = self.ledger.tally - tally_before
        report.duplicates, report.failed_records = tally.duplicates, tally.failed_records
        report.redelivered, report.answered_again = tally.redelivered, tally.answered_again
        report.unexplained_duplicates = tally.unexplained
        if tally.answered_again or tally.unexplained:
            report.redelivery_notes = self.ledger.notes
        return report

    def close(self) -> None:
        self._dlq_reader.close()


def local_runtime(
    state_dir: Path,
    manifest_path: Path,
    *,
    bootstrap: str,
    dsn: str | None = None,
    redis_url: str | None = None,
    max_concurrency: int = RuntimeConfig.max_concurrency,
) -> Runtime:
    """A manifest's functions on the local runtime against given servers, its topics (and the schema, given a
    database) in place. `max_concurrency` caps each function's containers (reserved concurrency still applies)."""
    manifest: Manifest = load_manifest(manifest_path)
    if dsn:
        provision.migrate(dsn)
    provision.create_topics(bootstrap, manifest)
    bindings = provision.local_bindings(manifest, db_dsn=dsn, redis_url=redis_url, kafka_bootstrap=bootstrap)
    config = RuntimeConfig(
        manifest=str(manifest_path),
        state_dir=str(state_dir),
        bindings=asdict(bindings),
        max_concurrency=max_concurrency,
    )
    runtime = Runtime(config, manifest)
    runtime.start()
    return runtime


def chaos_runtime(
    state_dir: Path,
    dsn: str,
    bootstrap: str,
    redis_url: str,
    manifest_path: Path = DEFAULT_MANIFEST,
    max_concurrency: int = RuntimeConfig.max_concurrency,
) -> Runtime:
    """The manifest's functions on the local runtime, with the schema and topics in place."""
    return local_runtime(
        state_dir, manifest_path, bootstrap=bootstrap, dsn=dsn, redis_url=redis_url, max_concurrency=max_concurrency
    )


@contextmanager
def chaos_driver(
    state_dir: Path,
    dsn: str,
    bootstrap: str,
    redis_url: str,
    seed: int | None = None,
    max_concurrency: int = RuntimeConfig.max_concurrency,
) -> Iterator[ChaosDriver]:
    runtime = chaos_runtime(state_dir, dsn, bootstrap, redis_url, max_concurrency=max_concurrency)
    driver = ChaosDriver(runtime, dsn, bootstrap, seed)
    try:
        yield driver
    finally:
        driver.close()
        runtime.stop()
