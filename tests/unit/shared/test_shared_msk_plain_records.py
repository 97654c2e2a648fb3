"""`plain_records` reads an MSK event as Powertools' model does: the same records (topic, partition, offset,
value text, headers as bytes) in the same order for events of the documented shape, and for anything else the
model's own answer (the same records, or its ValidationError)."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from tradeplane.msk_records import MskRecord, parse_msk_event, plain_records, records_of
from tradeplane_local import events


def _model(event: Any) -> list[MskRecord] | type[Exception]:
    try:
        parsed = parse_msk_event(event)
    except (ValidationError, TypeError) as exc:  # TypeError: one of the model's validators, on a header of text
        return type(exc)
    return [MskRecord(r.topic, r.partition, r.offset, str(r.value), r.headers) for r in records_of(parsed)]


def _plain(event: Any) -> list[MskRecord] | type[Exception]:
    try:
        return plain_records(event)
    except (ValidationError, TypeError) as exc:
        return type(exc)


record = st.builds(
    events.KafkaRecord,
    topic=st.sampled_from(["market.ticks", "orders.events"]),
    partition=st.integers(0, 3),
    offset=st.integers(0, 50),
    timestamp_ms=st.integers(0, 2**41),
    key=st.one_of(st.none(), st.binary(max_size=8)),
    value=st.one_of(st.text(max_size=30).map(str.encode), st.just(b'{"id":"x"}')),
    headers=st.lists(st.tuples(st.sampled_from(["type", "id", "correlation_id"]), st.binary(max_size=6)), max_size=3),
)
# Damage of the kinds an event could carry: what the model accepts differently or refuses.
DAMAGE: list[tuple[str, Any]] = [
    ("value", "not base64!"), ("value", base64.b64encode(b"\xff\xfe").decode()), ("value", None),
    ("partition", "1"), ("partition", True), ("offset", 1.5), ("timestamp", "2026-11-24T14:30:00Z"),
    ("key", "%%%"), ("key", 7), ("headers", [{"type": [-1, 2]}]), ("headers", [{"type": [300]}]),
    ("headers", [{"type": "text"}]), ("headers", [{"type": 5}]), ("headers", None), ("timestampType", None),
    ("valueSchemaMetadata", None),
    ("topic", None),
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(records=st.lists(record, max_size=8), damage=st.one_of(st.none(), st.sampled_from(DAMAGE)),
       drop=st.sampled_from([None, "headers", "timestamp", "key"]))  # fmt: skip
def test_plain_records_agree_with_the_model(
    records: list[events.KafkaRecord], damage: tuple[str, Any] | None, drop: str | None
) -> None:
    event = events.msk_event(records, "b:9092")
    items = [item for group in event["records"].values() for item in group]
    if items and damage is not None:
        items[0][damage[0]] = copy.deepcopy(damage[1])
    if items and drop is not None:
        items[-1].pop(drop, None)
    assert _plain(copy.deepcopy(event)) == _model(copy.deepcopy(event))


def test_an_event_of_another_shape_is_refused_as_before() -> None:
    with pytest.raises(ValidationError):
        plain_records({"records": {}})
    assert plain_records(events.msk_event([], "b:9092")) == []
