"""The event envelope: JSON shape, Decimal and timezone rules, Kafka headers."""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum

import pytest
from pydantic import BaseModel, ValidationError
from tradeplane.envelope import Envelope, EnvelopeError, kafka_headers, new_event_id, read_headers


def make(**kw: object) -> Envelope:
    return Envelope.new("order.filled", {"qty": Decimal("1.50"), "price": Decimal("189.2500")}, producer="executor",
                        **kw)  # type: ignore[arg-type]  # fmt: skip


def test_json_shape_and_decimal_as_strings() -> None:
    env = make(correlation_id="corr-1")
    obj = json.loads(env.to_json())
    assert set(obj) == {"id", "type", "version", "occurred_at", "correlation_id", "producer", "data"}
    assert obj["data"] == {"qty": "1.50", "price": "189.2500"}  # strings, exact, never floats
    assert obj["version"] == 1 and obj["producer"] == "executor" and obj["correlation_id"] == "corr-1"
    assert obj["occurred_at"].endswith("Z")
    assert b"1.5," not in env.to_json()


def test_round_trip() -> None:
    env = make(correlation_id="c", id="evt-1", occurred_at=datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC))
    back = Envelope.from_json(env.to_json())
    assert back.id == "evt-1" and back.type == env.type and back.occurred_at == env.occurred_at
    assert back.data == {"qty": "1.50", "price": "189.2500"}
    assert json.loads(back.to_json()) == json.loads(env.to_json())
    assert Envelope.from_json(env.to_json().decode()) == back  # str accepted too


def test_data_as_model_restores_decimals() -> None:
    class Fill(BaseModel):
        qty: Decimal
        price: Decimal

    fill = Envelope.from_json(make().to_json()).data_as(Fill)
    assert fill.qty == Decimal("1.50") and fill.price == Decimal("189.2500")


def test_new_accepts_a_model() -> None:
    class Tick(BaseModel):
        symbol: str
        price: Decimal
        at: datetime

    tick = Tick(symbol="AAPL", price=Decimal("1.1"), at=datetime(2024, 1, 1, tzinfo=UTC))
    obj = json.loads(Envelope.new("market.tick", tick, producer="etl").to_json())
    assert obj["data"] == {"symbol": "AAPL", "price": "1.1", "at": "2024-01-01T00:00:00.000000Z"}


def test_occurred_at_normalised_to_utc_with_z() -> None:
    est = timezone(timedelta(hours=-5))
    env = make(occurred_at=datetime(2024, 5, 1, 7, 0, tzinfo=est))
    assert env.occurred_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert env.occurred_at.utcoffset() == timedelta(0)
    assert json.loads(env.to_json())["occurred_at"] == "2024-05-01T12:00:00.000000Z"


def test_naive_occurred_at_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        make(occurred_at=datetime(2024, 5, 1, 12, 0))
    raw = json.loads(make().to_json())
    raw["occurred_at"] = "2024-05-01T12:00:00"
    with pytest.raises(EnvelopeError, match="occurred_at"):
        Envelope.from_json(json.dumps(raw))


def test_offsets_accepted_when_parsing() -> None:
    raw = json.loads(make().to_json())
    raw["occurred_at"] = "2024-05-01T14:00:00+02:00"
    assert Envelope.from_json(json.dumps(raw)).occurred_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"not json", "invalid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"hello": "world"}', "type"),
        (b'{"type": "Order Filled", "producer": "x"}', "type"),
        (b'{"type": "order.filled", "producer": "x", "data": [1]}', "data"),
        (b'{"type": "order.filled", "producer": "x", "version": 0}', "version"),
        (b"\xff\xfe", "invalid JSON"),
    ],
)
def test_non_envelopes_rejected_clearly(raw: bytes, match: str) -> None:
    with pytest.raises(EnvelopeError, match=match):
        Envelope.from_json(raw)


def test_envelope_error_is_a_value_error() -> None:
    assert issubclass(EnvelopeError, ValueError)


def test_non_finite_values_rejected() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        Envelope.new("market.tick", {"p": Decimal("NaN")}, producer="x").to_json()
    with pytest.raises(ValueError, match="non-finite"):
        Envelope.new("market.tick", {"p": float("inf")}, producer="x").to_json()


def test_ids_are_uuid7_unique_and_sortable() -> None:
    ids = [new_event_id() for _ in range(500)]
    assert len(set(ids)) == 500
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)  # millisecond prefix is monotonic
    assert make().id != make().id


def test_envelope_is_immutable() -> None:
    env = make()
    with pytest.raises(ValidationError):
        env.type = "other.type"  # type: ignore[misc]


def test_kafka_headers_and_read_back() -> None:
    env = make(correlation_id="corr-9")
    headers = kafka_headers(env, traceparent="00-abc-def-01")
    assert headers == [
        ("correlation_id", b"corr-9"),
        ("traceparent", b"00-abc-def-01"),
        ("type", b"order.filled"),
        ("id", env.id.encode()),
    ]
    assert read_headers(headers) == {"correlation_id": "corr-9", "traceparent": "00-abc-def-01",
                                     "type": "order.filled", "id": env.id}  # fmt: skip
    # no correlation id / traceparent: those headers are left out
    assert [h[0] for h in kafka_headers(make())] == ["type", "id"]


def test_read_headers_from_msk_event_shape() -> None:
    msk = [{"correlation_id": list(b"c-1")}, {"type": list(b"market.tick")}]
    assert read_headers(msk) == {"correlation_id": "c-1", "type": "market.tick"}
    assert read_headers(None) == {}
    assert read_headers([("a", None), ("b", "x")]) == {"b": "x"}


class Side(StrEnum):
    BUY = "buy"


def test_json_is_computed_once_and_copies_get_their_own() -> None:
    env = make()
    assert env.to_json() is env.to_json()  # the outbox row and the Kafka value are the same bytes
    other = env.model_copy(update={"type": "order.canceled"})
    assert json.loads(other.to_json())["type"] == "order.canceled"
    assert json.loads(env.to_json())["type"] == "order.filled"


def test_subclasses_serialise_like_their_base_types() -> None:
    data = {
        "ordered": OrderedDict(b=Decimal("2.0")),
        "side": Side.BUY,
        "pair": (1, True, None),
        "day": date(2026, 1, 2),
        "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "nested": [{"id": uuid.UUID(int=1)}],
    }
    obj = json.loads(Envelope.new("order.filled", data, producer="executor").to_json())["data"]
    assert obj == {
        "ordered": {"b": "2.0"},
        "side": "buy",
        "pair": [1, True, None],
        "day": "2026-01-02",
        "at": "2026-01-02T03:04:05.000000Z",
        "nested": [{"id": "00000000-0000-0000-0000-000000000001"}],
    }
