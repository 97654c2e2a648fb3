"""Create every manifest topic (including dead-letter topics) on the compose Redpanda.

    .venv/bin/python localstack/create_topics.py [--bootstrap localhost:19092] [--manifest functions/manifest.toml]

MSK gets its topics from CloudFormation (AWS::MSK::Topic); LocalStack has no
self-managed Kafka topic resource, so this does the same from the same manifest.
Idempotent: existing topics are kept, partitions grown when the manifest grew.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic  # type: ignore[attr-defined]
from tradeplane_tools.manifest import DEFAULT_MANIFEST, load_manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="localhost:19092")
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    args = parser.parse_args(argv)
    topics = load_manifest(args.manifest, check_files=False).all_topics()
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    existing = admin.list_topics(timeout=10).topics
    new = [
        NewTopic(name, spec.partitions, 1, config={"retention.ms": str(spec.retention_hours * 3_600_000)})
        for name, spec in topics.items()
        if name not in existing
    ]
    grow = [
        NewPartitions(name, spec.partitions)
        for name, spec in topics.items()
        if name in existing and len(existing[name].partitions) < spec.partitions
    ]
    futures = {**(admin.create_topics(new) if new else {}), **(admin.create_partitions(grow) if grow else {})}
    for name, future in futures.items():
        future.result(timeout=30)
        sys.stdout.write(f"created/updated {name}\n")
    sys.stdout.write(f"{len(topics)} topics in place\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
