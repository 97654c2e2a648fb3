"""Create the manifest's topics on a Kafka cluster: missing ones with their partitions and config, grown ones grown.

Used by `tradeplane local up` and by the LocalStack path; MSK gets the same `TopicRule`s
as `AWS::MSK::Topic` resources from the CDK app.
"""

from __future__ import annotations

from collections.abc import Mapping

from tradeplane_tools.wiring import TopicRule


class TopicError(RuntimeError):
    """A topic could not be created or grown."""


def ensure_topics(bootstrap: str, topics: Mapping[str, TopicRule], timeout: float = 15) -> list[str]:
    """Create missing topics and add partitions where the manifest grew; returns the names changed."""
    from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = admin.list_topics(timeout=timeout).topics
    new = [
        NewTopic(name, num_partitions=rule.partitions, replication_factor=1, config=rule.config)
        for name, rule in topics.items()
        if name not in existing
    ]
    grow = [
        NewPartitions(name, rule.partitions)
        for name, rule in topics.items()
        if name in existing and len(existing[name].partitions) < rule.partitions
    ]
    futures = {
        **(admin.create_topics(new, operation_timeout=timeout) if new else {}),
        **(admin.create_partitions(grow, operation_timeout=timeout) if grow else {}),
    }
    changed = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise TopicError(f"topic {name}: {exc}") from exc
        changed.append(name)
    return sorted(changed)
