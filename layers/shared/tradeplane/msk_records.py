"""Decode the records of an MSK event into envelopes, keeping the bad ones apart."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.parser.models import KafkaMskEventModel, KafkaRecordModel

from tradeplane.envelope import Envelope, EnvelopeError, read_headers


@dataclass(frozen=True)
class Rejected:
    topic: str
    partition: int
    offset: int
    reason: str


def parse_msk_event(event: dict[str, Any]) -> KafkaMskEventModel:
    from aws_lambda_powertools.utilities.parser import parse

    return parse(event=event, model=KafkaMskEventModel)


def records_of(event: KafkaMskEventModel) -> Iterable[KafkaRecordModel]:
    """Every record, partition by partition, in offset order."""
    for records in event.records.values():
        yield from sorted(records, key=lambda r: r.offset)


def _wanted(event: KafkaMskEventModel, wanted: Collection[str]) -> tuple[list[Envelope], list[Rejected]]:
    """The envelopes of the `wanted` types in record order; anything else is rejected with a reason."""
    good: list[Envelope] = []
    bad: list[Rejected] = []
    for record in records_of(event):
        try:
            env = Envelope.from_json(record.value if isinstance(record.value, str | bytes) else str(record.value))
        except EnvelopeError as exc:
            bad.append(Rejected(record.topic, record.partition, record.offset, f"not an envelope: {exc}"[:300]))
            continue
        if env.correlation_id is None:  # a producer that only set the header still links the flow
            header = read_headers(record.headers).get("correlation_id")
            env = env.model_copy(update={"correlation_id": header}) if header else env
        if env.type not in wanted:
            bad.append(Rejected(record.topic, record.partition, record.offset, f"unexpected type {env.type!r}"))
            continue
        good.append(env)
    return good, bad


def envelopes(
    event: KafkaMskEventModel, expected_type: str | Collection[str], *, skip_types: Collection[str] = ()
) -> tuple[list[Envelope], list[Rejected]]:
    """The envelopes of `expected_type` (one or several types), in record order; anything else is rejected
    with a reason (never its content).

    Envelopes of `skip_types` share the topic legitimately (quotes beside trades on market.ticks): they are
    neither returned nor rejected.
    """
    expected = {expected_type} if isinstance(expected_type, str) else set(expected_type)
    good, bad = _wanted(event, expected | set(skip_types))
    return [env for env in good if env.type in expected], bad


def envelopes_by_type(
    event: KafkaMskEventModel, types: Collection[str]
) -> tuple[dict[str, list[Envelope]], list[Rejected]]:
    """The envelopes of each of `types`, each list in record order; anything else is rejected with a reason."""
    good, bad = _wanted(event, set(types))
    grouped: dict[str, list[Envelope]] = {t: [] for t in types}
    for env in good:
        grouped[env.type].append(env)
    return grouped, bad
