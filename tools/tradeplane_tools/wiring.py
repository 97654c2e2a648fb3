"""The rules both deploying sides apply, derived once from a loaded manifest.

The local runtime and the CDK app each turn the manifest into running wiring:
topics, Kafka event source mappings, schedules, log subscriptions. Every value
they both need (a dead-letter topic's name, a topic's retention, a schedule's
retry count, which log groups feed a subscriber) is decided here, so the two
sides consume one result instead of re-deriving it in their own words.
`tests/infra/test_local_and_cdk_agree.py` feeds one manifest to both and
compares what each would build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from tradeplane_tools.manifest import KafkaTrigger, LogsTrigger, Manifest, ScheduleTrigger

# EventBridge invokes Lambda asynchronously: a failed invocation is retried this many times.
SCHEDULE_RETRY_ATTEMPTS = 2
_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
HOUR_MS = 3_600_000
# Lambda's provisioned mode for Kafka: each event poller runs at most 5 invocations at once (and 5 MB/s).
INVOCATIONS_PER_POLLER = 5


@dataclass(frozen=True)
class TopicRule:
    name: str
    partitions: int
    key: str
    retention_ms: int

    @property
    def config(self) -> dict[str, str]:
        """Topic-level configuration, as Kafka's admin API and MSK's topic resource take it."""
        return {"retention.ms": str(self.retention_ms)}


@dataclass(frozen=True)
class EventSourceRule:
    """One Kafka trigger: an MSK event source mapping in AWS, a polling source locally."""

    function: str
    topic: str
    group: str
    batch_size: int
    batching_window_ms: int
    starting_position: str
    max_retries: int
    bisect_on_error: bool
    dead_letter_topic: str
    # Concurrent batches (one per partition at most): the function's reserved concurrency, else its partitions.
    max_concurrency: int

    @property
    def pollers_needed(self) -> int:
        """Provisioned event pollers AWS needs to run `max_concurrency` batches at once."""
        return -(-self.max_concurrency // INVOCATIONS_PER_POLLER)


@dataclass(frozen=True)
class ScheduleRule:
    function: str
    name: str
    expression: str
    retry_attempts: int = SCHEDULE_RETRY_ATTEMPTS

    def next_fire(self, after: datetime) -> datetime:
        """The first time strictly after `after` at which the schedule fires (UTC)."""
        return next_fire(self.expression, after)


@dataclass(frozen=True)
class LogSubscriptionRule:
    """A subscriber and the functions whose log groups feed it (never itself: that would loop)."""

    subscriber: str
    filter_pattern: str
    sources: tuple[str, ...]


def next_fire(expression: str, after: datetime) -> datetime:
    """EventBridge `rate(...)` / `cron(...)` semantics, in UTC."""
    rate = re.fullmatch(r"rate\((\d+) (\w+)\)", expression)
    if rate:
        period = int(rate.group(1)) * _RATE_UNITS[rate.group(2)]
        epoch = int(after.timestamp())
        return datetime.fromtimestamp(epoch - epoch % period + period, UTC)
    cron = re.fullmatch(r"cron\((.+)\)", expression)
    if not cron:
        raise ValueError(f"not a schedule expression: {expression}")
    from croniter import croniter

    minute, hour, dom, month, dow, year = cron.group(1).split()
    if year not in ("*", str(after.year)):
        raise ValueError(f"{expression}: only '*' or the current year is supported locally")
    # EventBridge writes "?" for "any" in day-of-month/day-of-week and numbers weekdays 1-7 from Sunday.
    dow = dow.replace("?", "*")
    if dow != "*":
        dow = re.sub(r"\d", lambda m: str(int(m.group()) - 1), dow)
    spec = " ".join([minute, hour, dom.replace("?", "*"), month, dow])
    result: datetime = croniter(spec, after.astimezone(UTC)).get_next(datetime)
    return result.astimezone(UTC)


@dataclass(frozen=True)
class Wiring:
    manifest: Manifest

    @cached_property
    def topics(self) -> dict[str, TopicRule]:
        return {
            name: TopicRule(name, spec.partitions, spec.key, spec.retention_hours * HOUR_MS)
            for name, spec in self.manifest.all_topics().items()
        }

    @cached_property
    def event_sources(self) -> list[EventSourceRule]:
        rules = []
        for trig, fn in self.manifest.kafka_consumers():
            assert isinstance(trig, KafkaTrigger)
            partitions = self.manifest.topics[trig.topic].partitions
            rules.append(
                EventSourceRule(
                    function=fn.name,
                    topic=trig.topic,
                    group=trig.group,
                    batch_size=trig.batch_size,
                    batching_window_ms=trig.batching_window_ms,
                    starting_position=trig.starting_position,
                    max_retries=trig.max_retries,
                    bisect_on_error=trig.bisect_on_error,
                    dead_letter_topic=fn.dead_letter_topic(trig),
                    max_concurrency=min(fn.reserved_concurrency or partitions, partitions) or 1,
                )
            )
        return rules

    @cached_property
    def schedules(self) -> list[ScheduleRule]:
        out = []
        for i, (trig, fn) in enumerate(self.manifest.schedules()):
            assert isinstance(trig, ScheduleTrigger)
            out.append(ScheduleRule(fn.name, f"{fn.name}-{i}", trig.expression))
        return out

    @cached_property
    def log_subscriptions(self) -> list[LogSubscriptionRule]:
        out = []
        for trig, fn in self.manifest.log_subscribers():
            assert isinstance(trig, LogsTrigger)
            sources = tuple(name for name in self.manifest.functions if name != fn.name)
            out.append(LogSubscriptionRule(fn.name, trig.filter_pattern, sources))
        return out


def wiring(manifest: Manifest) -> Wiring:
    return Wiring(manifest)
