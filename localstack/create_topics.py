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

from tradeplane_tools.manifest import DEFAULT_MANIFEST, load_manifest
from tradeplane_tools.topics import ensure_topics
from tradeplane_tools.wiring import wiring


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="localhost:19092")
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    args = parser.parse_args(argv)
    topics = wiring(load_manifest(args.manifest, check_files=False)).topics
    for name in ensure_topics(args.bootstrap, topics, timeout=30):
        sys.stdout.write(f"created/updated {name}\n")
    sys.stdout.write(f"{len(topics)} topics in place\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
