"""`Envelope.to_json` builds its document directly (and writes it with orjson): the bytes must be the model's own
JSON, byte for byte, except that a float's negative exponent is written as orjson writes it (1e-7, not 1e-07)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tradeplane.envelope import Envelope


def model_json(env: Envelope) -> bytes:
    """What `to_json` wrote before it built the document itself (pydantic's dump in JSON mode)."""
    return json.dumps(env.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False).encode()


def has_float(value: Any) -> bool:
    if isinstance(value, dict):
        return any(has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(has_float(v) for v in value)
    return isinstance(value, float)


def assert_models_json(env: Envelope) -> None:
    expected = model_json(env)
    if has_float(json.loads(expected)):  # the same document; only a float's spelling may differ
        assert json.loads(env.to_json()) == json.loads(expected)
    else:
        assert env.to_json() == expected


aware = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(minutes=330))]))
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),  # quotes, backslashes, control characters, non-ASCII, lone surrogates
    st.decimals(allow_nan=False, allow_infinity=False),
    st.uuids(),
    aware,
    st.dates(),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    data=st.dictionaries(st.text(max_size=12), values, max_size=8),
    correlation_id=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
    producer=st.text(min_size=1, max_size=30),
    version=st.integers(min_value=1, max_value=2**40),
    occurred_at=aware,
)
def test_to_json_is_the_models_json_byte_for_byte(
    data: dict[str, Any], correlation_id: str | None, producer: str, version: int, occurred_at: datetime
) -> None:
    env = Envelope.new(
        "order.trade_update",
        data,
        producer=producer,
        correlation_id=correlation_id,
        version=version,
        occurred_at=occurred_at,
    )
    assert_models_json(env)


def test_a_trade_update_shaped_event_is_the_models_json() -> None:
    order = {"id": uuid.uuid4(), "qty": Decimal("10"), "filled_avg_price": Decimal("187.2300"), "symbol": 'ÄPL"\\'}
    data = {
        "event": "fill",
        "timestamp": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "order": order,
        "day": date(2026, 1, 2),
    }
    env = Envelope.new("order.trade_update", data, producer="execution.executor", correlation_id="c-1")
    assert_models_json(env)
    assert json.loads(env.to_json())["data"]["order"]["qty"] == "10"


def test_what_orjson_refuses_is_written_by_the_standard_library() -> None:
    env = Envelope.new("order.trade_update", {"big": 2**70, "score": 1e16}, producer="p")
    assert env.to_json() == model_json(env)  # a 2**70 int: the whole document takes json.dumps
    assert b'"big":1180591620717411303424' in env.to_json()


def test_floats_are_the_same_numbers() -> None:
    env = Envelope.new("order.trade_update", {"score": 1e16, "tiny": 1e-7, "x": 0.1}, producer="p")
    assert b'"tiny":1e-7,' in env.to_json()
    assert json.loads(env.to_json())["data"] == {"score": 1e16, "tiny": 1e-7, "x": 0.1}
