"""Probe: does the broker let a consumer see a later batch before an earlier one of the same partition?

Run: .venv/bin/python tests/stress/probe_broker_gaps.py [--bootstrap HOST:PORT] [--producers 4] [--records 5000]
     [--restart-s 0.2]

Several idempotent producers (acks=all) write to a topic while a plain
confluent-kafka consumer (no seeks, the way the old event source read) follows
every partition, optionally restarted at its next offsets every --restart-s
seconds (as a restarted source is). Every offset jump it sees (offset >
previous + 1 in a partition) is a gap. After the
producers finish, a fresh consumer re-reads the partition from 0: records the
live consumer never saw but the re-read finds were skipped by the fetch, not
lost by the broker. Without --bootstrap it starts its own Tansu broker.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from tradeplane_local import servers


def produce(bootstrap: str, topic: str, client: int, records: int, acked: list[int]) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 2})

    def report(err: object, msg: object) -> None:
        if err is None:
            acked.append(1)

    for i in range(records):
        p.produce(topic, key=f"k{i % 97}".encode(), value=f"{client}-{i}".encode(), on_delivery=report)
        if i % 50 == 0:
            p.poll(0)
            time.sleep(0.001)
    p.flush(30)


def follow(
    bootstrap: str,
    topic: str,
    stop: threading.Event,
    seen: dict[int, list[int]],
    gaps: list[tuple[int, int, int]],
    restart_s: float,
) -> None:
    """Follow every partition; every `restart_s` start a new consumer at the next offsets (a restarted source)."""
    conf = {"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4().hex[:6]}", "fetch.wait.max.ms": 10}
    c = Consumer(conf)
    c.assign([TopicPartition(topic, p, 0) for p in seen])
    idle_since = None
    restart_at = time.monotonic() + restart_s
    while not (stop.is_set() and idle_since and time.monotonic() - idle_since > 2):
        if restart_s and time.monotonic() > restart_at:
            c.close()
            c = Consumer(conf)
            c.assign([TopicPartition(topic, p, offs[-1] + 1 if offs else 0) for p, offs in seen.items()])
            restart_at = time.monotonic() + restart_s
        msgs = c.consume(1000, 0.1)
        idle_since = idle_since if msgs else (idle_since or time.monotonic())
        for m in msgs:
            if m.error():
                continue
            offs = seen[m.partition()]
            if m.offset() != (offs[-1] + 1 if offs else 0):
                gaps.append((m.partition(), offs[-1] + 1 if offs else 0, m.offset()))
            offs.append(m.offset())
            idle_since = None
    c.close()


def reread(bootstrap: str, topic: str, partitions: int, expected: int) -> set[tuple[int, int]]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4().hex[:6]}"})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    offsets: set[tuple[int, int]] = set()
    deadline = time.monotonic() + 20
    while len(offsets) < expected and time.monotonic() < deadline:
        offsets.update((m.partition(), m.offset()) for m in c.consume(1000, 0.2) if not m.error())
    c.close()
    return offsets


def probe(bootstrap: str, producers: int, records: int, restart_s: float, partitions: int, waves: int) -> int:
    topic = f"probe.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the topic exists
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(10)
    acked: list[int] = []
    seen: dict[int, list[int]] = {p: [] for p in range(partitions)}
    gaps: list[tuple[int, int, int]] = []
    stop = threading.Event()
    follower = threading.Thread(target=follow, args=(bootstrap, topic, stop, seen, gaps, restart_s))
    follower.start()
    for wave in range(waves):  # each wave: new producers (new producer ids), writing at the same time
        clients = [
            threading.Thread(target=produce, args=(bootstrap, topic, wave * producers + n, records, acked))
            for n in range(producers)
        ]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
    stop.set()
    follower.join()
    on_broker = reread(bootstrap, topic, partitions, len(acked))
    live = {(p, o) for p, offs in seen.items() for o in offs}
    skipped = on_broker - live
    print(f"acknowledged {len(acked)}, on the broker (re-read from 0) {len(on_broker)}")
    print(f"live consumer saw {len(live)}; offset jumps (partition, expected, got) {len(gaps)}: {gaps[:5]}")
    print(f"records on the broker the live consumer never saw: {len(skipped)}")
    return 1 if skipped or len(on_broker) < len(acked) else 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap")
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--waves", type=int, default=1, help="rounds of fresh producers")
    parser.add_argument("--restart-s", type=float, default=0.0, help="restart the follower this often (0: never)")
    args = parser.parse_args()
    if args.bootstrap:
        return probe(args.bootstrap, args.producers, args.records, args.restart_s, args.partitions, args.waves)
    with tempfile.TemporaryDirectory() as tmp:
        kafka = servers.start("kafka", Path(tmp))
        try:
            bootstrap = kafka.url.removeprefix("tcp://")
            return probe(bootstrap, args.producers, args.records, args.restart_s, args.partitions, args.waves)
        finally:
            servers.stop(kafka)


if __name__ == "__main__":
    raise SystemExit(main())
