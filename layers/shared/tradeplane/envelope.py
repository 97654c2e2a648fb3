"""The JSON envelope every Kafka message value carries (docs/architecture.md, "Event bus contracts").

    {"id", "type", "version", "occurred_at", "correlation_id", "producer", "data"}

- `id` is unique per event and time-sortable (UUIDv7); consumers dedupe on it.
- `occurred_at` is an aware datetime, normalised to UTC and written RFC 3339 with "Z".
- `data` is a JSON object; Decimal values are written as JSON strings, never floats,
  so money and quantities survive the trip exactly. Consumers parse `data` into
  their own pydantic model (`envelope.data_as(Model)`), where Decimal fields accept strings.
"""

from __future__ import annotations

import builtins
import json
import math
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator

__all__ = [
    "Envelope",
    "EnvelopeError",
    "format_timestamp",
    "jsonable",
    "kafka_headers",
    "new_event_id",
    "read_headers",
]

TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
M = TypeVar("M", bound=BaseModel)


class EnvelopeError(ValueError):
    """The bytes are not a valid Tradeplane event envelope."""


def new_event_id() -> str:
    """A UUIDv7 (RFC 9562) string: unique, and sortable by creation time (ms)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 random bits; 74 are used
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a (12 bits)
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)  # rand_b (62 bits)
    return str(uuid.UUID(int=value))


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with a "Z" suffix, e.g. 2024-05-01T12:00:00.123456Z. Naive datetimes are rejected."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware (UTC)")
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _finite_decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"non-finite Decimal {value} cannot be serialised")
    return str(value)


def _finite_float(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("non-finite float cannot be serialised")
    return value


# Checked in order: bool before int (a bool is an int), datetime before date (a datetime is a date).
_CONVERTERS: tuple[tuple[type | tuple[type, ...], Callable[[Any], Any]], ...] = (
    (Decimal, _finite_decimal),
    ((bool, int, str, type(None)), lambda v: v),
    (float, _finite_float),
    (datetime, format_timestamp),
    (date, lambda v: v.isoformat()),
    (uuid.UUID, str),
    (Enum, lambda v: jsonable(v.value)),
    (BaseModel, lambda v: jsonable(v.model_dump(mode="python"))),
    (Mapping, lambda v: {str(k): jsonable(item) for k, item in v.items()}),
    ((list, tuple, set, frozenset), lambda v: [jsonable(item) for item in v]),
)


# Types `jsonable` returns as they are: a container's members of these are kept without a call each (a trade
# update's data is built as text already: its walk was one call per member).
_PLAIN = frozenset({str, int, bool, type(None)})


def _dict(value: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        (k if type(k) is str else str(k)): (item if type(item) in _PLAIN else jsonable(item))
        for k, item in value.items()
    }


def _list(value: Iterable[Any]) -> list[Any]:
    return [item if type(item) in _PLAIN else jsonable(item) for item in value]


# Exact types answered by one dict lookup: events are mostly these, and the walk below is per value.
_EXACT: dict[type, Callable[[Any], Any]] = {
    str: lambda v: v,
    int: lambda v: v,
    bool: lambda v: v,
    type(None): lambda v: v,
    Decimal: _finite_decimal,
    datetime: format_timestamp,
    uuid.UUID: str,
    dict: _dict,
    list: _list,
}


def jsonable(value: Any) -> Any:
    """Turn `value` into plain JSON types: Decimal -> str, datetime -> RFC 3339 Z, UUID/Enum -> str.

    Floats are kept (for non-money values such as scores) but must be finite.
    """
    exact = _EXACT.get(type(value))
    if exact is not None:
        return exact(value)
    for kind, convert in _CONVERTERS:
        if isinstance(value, kind):
            return convert(value)
    raise TypeError(f"cannot serialise {type(value).__name__} into an event")


class Envelope(BaseModel):
    """One event. Build with `Envelope.new(...)`; parse with `Envelope.from_json(...)`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: Annotated[str, Field(min_length=1, max_length=128)] = Field(default_factory=new_event_id)
    type: Annotated[str, Field(pattern=TYPE_PATTERN, max_length=128)]
    version: Annotated[int, Field(ge=1)] = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None
    producer: Annotated[str, Field(min_length=1, max_length=128)]
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("occurred_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("occurred_at must be timezone-aware (naive datetimes are ambiguous)")
        return value.astimezone(UTC)

    @field_serializer("occurred_at")
    def _ser_occurred_at(self, value: datetime) -> str:
        return format_timestamp(value)

    @field_serializer("data")
    def _ser_data(self, value: dict[str, Any]) -> Any:
        return jsonable(value)

    @classmethod
    def new(
        cls,
        type: str,
        data: Mapping[str, Any] | BaseModel,
        *,
        producer: str,
        correlation_id: str | None = None,
        version: int = 1,
        id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        """A new event; `data` may be a mapping or a pydantic model (dumped in Python mode, Decimals kept)."""
        payload = data.model_dump(mode="python") if isinstance(data, BaseModel) else dict(data)
        fields: dict[str, Any] = {
            "type": type,
            "data": payload,
            "producer": producer,
            "correlation_id": correlation_id,
            "version": version,
        }
        if id is not None:
            fields["id"] = id
        if occurred_at is not None:
            fields["occurred_at"] = occurred_at
        return cls.model_validate(fields)

    @cached_property
    def _json(self) -> bytes:
        # What `model_dump(mode="json")` gives (the fields in order, each through its serializer), built directly:
        # pydantic's dump cost more than the walk of `data` itself (~35 -> ~24 us per trade update). Byte-equal
        # to the model's JSON: tests/unit/shared/test_shared_envelope_json.py.
        document = {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": format_timestamp(self.occurred_at),
            "correlation_id": self.correlation_id,
            "producer": self.producer,
            "data": jsonable(self.data),
        }
        try:
            # orjson writes what `json.dumps(..., separators=(",", ":"), ensure_ascii=False)` writes, in C (~10x
            # faster), except a float's negative exponent (1e-7 for 1e-07: the same number).
            return orjson.dumps(document)
        except orjson.JSONEncodeError:  # an int beyond 64 bits, a lone surrogate: the standard library's answer
            return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()

    def to_json(self) -> bytes:
        """Compact UTF-8 JSON bytes, ready to be a Kafka message value (computed once: the envelope is frozen)."""
        return self._json

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Envelope:
        copy = super().model_copy(update=update, deep=deep)
        copy.__dict__.pop("_json", None)  # a copy with other fields must not answer this one's JSON
        return copy

    @classmethod
    def from_json(cls, raw: bytes | bytearray | str) -> Envelope:
        """Parse a message value; raises EnvelopeError (with the field problems) for anything else."""
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EnvelopeError(f"not an event envelope: invalid JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise EnvelopeError(f"not an event envelope: expected a JSON object, got {type(obj).__name__}")
        try:
            return cls.model_validate(obj)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
            )
            raise EnvelopeError(f"not an event envelope: {problems}") from None

    def data_as(self, model: builtins.type[M]) -> M:
        """Validate `data` into `model` (e.g. a pydantic model with Decimal fields)."""
        return model.model_validate(self.data)


def kafka_headers(envelope: Envelope, traceparent: str | None = None) -> list[tuple[str, bytes]]:
    """Kafka headers that repeat the envelope's routing facts: correlation_id, traceparent, type, id."""
    headers: list[tuple[str, bytes]] = []
    if envelope.correlation_id:
        headers.append(("correlation_id", envelope.correlation_id.encode()))
    if traceparent:
        headers.append(("traceparent", traceparent.encode()))
    headers.append(("type", envelope.type.encode()))
    headers.append(("id", envelope.id.encode()))
    return headers


HeaderInput = (
    Sequence[tuple[str, bytes | str | None]]  # confluent_kafka Message.headers()
    | Sequence[Mapping[str, Sequence[int] | bytes | str]]  # MSK event record: [{"key": [byte, ...]}]
    | Mapping[str, bytes | str | None]
    | None
)


def read_headers(headers: HeaderInput) -> dict[str, str]:
    """Headers as {name: text}, from a confluent-kafka message or an MSK event record (last value wins)."""
    out: dict[str, str] = {}
    if not headers:
        return out
    items: Iterable[tuple[str, Any]]
    if isinstance(headers, Mapping):
        items = headers.items()
    else:
        pairs: list[tuple[str, Any]] = []
        for entry in headers:
            if isinstance(entry, Mapping):
                pairs.extend(entry.items())
            else:
                pairs.append((entry[0], entry[1]))
        items = pairs
    for name, value in items:
        if value is None:
            continue
        if isinstance(value, bytes | bytearray):
            text = bytes(value).decode("utf-8", "replace")
        elif isinstance(value, str):
            text = value
        else:
            text = bytes(value).decode("utf-8", "replace")
        out[str(name)] = text
    return out
