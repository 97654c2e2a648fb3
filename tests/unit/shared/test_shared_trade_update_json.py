"""`trade_update_json` builds a trade update's data directly from a book row: it must be what the models give.

The reference is the path it replaced: `TradeUpdate(...)` with `TradeUpdateOrder.model_validate(row)`, put in an
envelope as a model. The envelopes' bytes must be equal, and where the models refuse the input, so must it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from tradeplane.contracts.trade_updates import (
    TRADE_EVENTS,
    TRADE_UPDATE,
    TRADE_UPDATE_IDS,
    TradeUpdate,
    TradeUpdateOrder,
    trade_update_id,
    trade_update_json,
)
from tradeplane.envelope import Envelope

NOW = datetime(2026, 11, 29, 12, 0, 1, 250000, tzinfo=UTC)


def reference(account_id: Any, event: str, timestamp: Any, order: dict[str, Any], **fields: Any) -> bytes:
    """What `Book.trade_update` wrote before (the models, validated and dumped)."""
    update = TradeUpdate(
        account_id=account_id,
        event=event,  # type: ignore[arg-type]
        timestamp=timestamp,
        order=TradeUpdateOrder.model_validate(order),
        **fields,
    )
    return envelope(update)


def envelope(data: Any) -> bytes:
    return Envelope.new(TRADE_UPDATE, data, producer="execution.executor", id="e-1", occurred_at=NOW).to_json()


def outcome(build: Any) -> tuple[str, Any]:
    try:
        return "ok", build()
    except (ValidationError, ValueError, TypeError) as exc:  # ValidationError and UnicodeError are ValueErrors
        return "refused", type(exc).__name__


decimals = st.one_of(
    st.none(),
    st.decimals(allow_nan=False, allow_infinity=False),  # also exponents, negative zero, many places
    st.sampled_from([Decimal("1"), Decimal("190.00000000"), Decimal("1E+2"), Decimal("-0"), Decimal("0.5")]),
)
unusual = st.one_of(  # types the direct path hands to the models: converted or refused as before
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=10),
    st.uuids().map(str),
    st.sampled_from([Decimal("NaN"), Decimal("Infinity"), True]),
)
texts = st.text(max_size=12)  # quotes, backslashes, control characters, non-ASCII, lone surrogates
ids = st.one_of(st.none(), st.uuids())
aware = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(minutes=330))]))


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` four times in five: most examples take the direct path, the rest check the hand-over."""
    return st.integers(0, 4).flatmap(lambda n: odd if n == 0 else usual)


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    """A `trading.orders` row as `Book` holds it (its extra columns included), sometimes with an unusual value."""
    row: dict[str, Any] = {
        "id": draw(st.uuids()),
        "account_id": draw(st.uuids()),
        "client_order_id": draw(texts),
        "symbol": draw(texts),
        "side": draw(st.sampled_from(["buy", "sell"])),
        "type": draw(st.sampled_from(["market", "limit", "stop", "trailing_stop"])),
        "time_in_force": draw(st.sampled_from(["day", "gtc", "ioc", "opg"])),
        "order_class": draw(st.sampled_from(["simple", "bracket", "oco", "oto"])),
        "qty": draw(decimals),
        "notional": draw(decimals),
        "filled_qty": draw(decimals.filter(lambda d: d is not None)),
        "filled_avg_price": draw(decimals),
        "limit_price": draw(decimals),
        "stop_price": draw(decimals),
        "status": draw(st.sampled_from(["accepted", "new", "filled", "partially_filled", "canceled"])),
        "parent_id": draw(ids),
        "replaces": draw(ids),
        "replaced_by": draw(ids),
        "hwm": draw(decimals),
        "stop_triggered": draw(st.booleans()),
        "leg_role": draw(st.one_of(st.none(), texts)),
    }
    changed = draw(mostly(st.just([]), st.lists(st.sampled_from(sorted(row)), min_size=1, max_size=2, unique=True)))
    for name in changed:
        change = draw(st.sampled_from(["unusual", "none", "missing"]))
        if change == "missing":
            del row[name]
        else:
            row[name] = draw(unusual) if change == "unusual" else None
    return row


fill_fields = st.fixed_dictionaries(
    {},
    optional={
        "price": mostly(decimals, unusual),
        "qty": decimals,
        "position_qty": decimals,
        "execution_id": mostly(ids, unusual),
        "reason": mostly(st.one_of(st.none(), texts), st.integers()),
    },
)
extra_field = mostly(st.just({}), st.just({"not_a_field": 1}))  # ignored by the model (extra="ignore")


@settings(max_examples=400, deadline=None)
@given(
    row=rows(),
    account=mostly(st.uuids(), unusual),
    event=mostly(st.sampled_from(sorted(TRADE_EVENTS)), st.sampled_from(["fills", "", "FILL"])),
    timestamp=mostly(aware, st.datetimes()),  # naive: refused (the envelope cannot write it)
    fields=fill_fields,
    extra=extra_field,
)
def test_the_direct_data_is_the_models_byte_for_byte(
    row: dict[str, Any], account: Any, event: str, timestamp: datetime, fields: dict[str, Any], extra: dict[str, Any]
) -> None:
    fields = {**fields, **extra}
    expected = outcome(lambda: reference(account, event, timestamp, row, **fields))
    direct = outcome(lambda: envelope(trade_update_json(account, event, timestamp, row, **fields)))
    assert direct == expected


def test_a_fill_of_a_book_row_takes_the_direct_path_and_keeps_its_types_as_text() -> None:
    order = {
        "id": uuid.uuid4(), "account_id": uuid.uuid4(), "client_order_id": 'c-"1"\\', "symbol": "AAPL", "side": "buy",
        "type": "market", "time_in_force": "day", "order_class": "simple", "qty": Decimal("1"), "notional": None,
        "filled_qty": Decimal("1"), "filled_avg_price": Decimal("190.00000000"), "limit_price": None,
        "stop_price": None, "status": "filled", "parent_id": None, "replaces": None, "replaced_by": None,
    }  # fmt: skip
    fill = {"price": Decimal("190.00"), "qty": Decimal("1"), "position_qty": Decimal("3"), "execution_id": uuid.uuid4()}
    data = trade_update_json(order["account_id"], "fill", NOW, order, **fill)
    assert envelope(data) == reference(order["account_id"], "fill", NOW, order, **fill)
    assert data["order"]["filled_avg_price"] == "190.00000000" and data["timestamp"] == "2026-11-29T12:00:01.250000Z"
    assert data["execution_id"] == str(fill["execution_id"])


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"event": "fills"}, ValidationError),  # not one of Alpaca's events
        *(
            ({name: None}, ValidationError)  # a required field empty
            for name in ("id", "client_order_id", "symbol", "side", "type", "time_in_force", "order_class", "status")
        ),
        ({"filled_qty": None}, ValidationError),  # has a default, but may not be empty
        ({"qty": Decimal("NaN")}, ValidationError),
        ({"timestamp": datetime(2026, 1, 1)}, ValueError),  # naive: the envelope cannot write it
    ],
)
def test_what_the_models_refuse_is_refused(change: dict[str, Any], error: type[Exception]) -> None:
    order = {
        "id": uuid.uuid4(), "client_order_id": "c", "symbol": "AAPL", "side": "buy", "type": "market",
        "time_in_force": "day", "status": "new", "qty": Decimal(1), "order_class": "simple", "filled_qty": Decimal(0),
    }  # fmt: skip
    event, timestamp = change.pop("event", "new"), change.pop("timestamp", NOW)
    with pytest.raises(error):
        trade_update_json(uuid.uuid4(), event, timestamp, {**order, **change})


@settings(max_examples=300, deadline=None)
@given(order_id=st.uuids(), event=st.text(max_size=20), cause=st.text(max_size=40))
def test_the_trade_update_id_is_the_librarys_uuid5(order_id: uuid.UUID, event: str, cause: str) -> None:
    name = f"{order_id}:{event}:{cause}"
    expected = outcome(lambda: str(uuid.uuid5(TRADE_UPDATE_IDS, name)))  # a lone surrogate cannot be encoded
    assert outcome(lambda: trade_update_id(order_id, event, cause)) == expected
