"""bar_aggregator's decoder: the plain path reads what ingest writes, and agrees with the contract models on
everything else (accepts what they accept, with the same values; refuses what they refuse)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st
from tp_etl import tick_batch
from tp_etl.cleaning import Clean
from tp_etl.rows import QuoteRow, TradeRow
from tp_etl.source_events import EventWriter
from tp_etl.tick_batch import decode_records
from tradeplane.contracts.market import Tick, tick_from_envelope
from tradeplane.envelope import Envelope


@dataclass
class Record:
    value: bytes | str
    offset: int = 0
    topic: str = "market.ticks"
    partition: int = 0
    headers: list[dict[str, list[int]]] = field(default_factory=list)


TS = datetime(2026, 11, 24, 14, 30, 0, 53_000, tzinfo=UTC)
WRITER = EventWriter(identity="s3://b/k#e", source="feed", producer="ingest_s3", correlation_id="c-1")


def written(line: int, row: TradeRow | QuoteRow, flags: tuple[str, ...] = ()) -> bytes:
    kind = "trades" if isinstance(row, TradeRow) else "quotes"
    return WRITER.write(Clean(line, kind, row, flags)).value


def test_what_ingest_writes_is_read_back_exactly_in_record_order() -> None:
    trade = TradeRow("BRK.B", Decimal("190.10"), Decimal("0.5"), TS, "V", 42)
    other = TradeRow("AAPL", Decimal("1"), Decimal("3"), TS, None, None)
    quote = QuoteRow("AAPL", Decimal("10.1"), Decimal(0), Decimal("10.2"), Decimal(3), TS, None)
    records = [Record(written(2, trade), 0), Record(written(3, quote), 1), Record(written(4, other, ("outlier",)), 2)]
    batch = decode_records(records)  # type: ignore[arg-type]
    assert [row for _, row in batch.trades] == [trade, other] and batch.quotes == [quote]
    assert [eid for eid, _ in batch.trades] == [json.loads(records[0].value)["id"], json.loads(records[2].value)["id"]]
    assert batch.correlation_id == "c-1" and batch.rejected == []


def test_the_header_correlation_id_is_used_when_the_envelope_has_none() -> None:
    env = Envelope.new("market.tick", {"symbol": "A", "price": "1", "size": "1", "ts": TS}, producer="p")
    header = [{"correlation_id": list(b"from-header")}]
    assert decode_records([Record(env.to_json(), headers=header)]).correlation_id == "from-header"  # type: ignore[list-item]


def _generic(value: bytes) -> Tick | None:
    try:
        env = Envelope.from_json(value)
        return tick_from_envelope(env) if env.type == "market.tick" else None
    except ValueError:
        return None


GOOD: dict[str, Any] = {"symbol": "AAPL", "price": "190.10", "size": "5", "ts": "2026-11-24T14:30:00.053000Z"}
# Each is one way a record can differ from what ingest writes; the models decide which of them are fine.
CHANGES: list[tuple[str, Any]] = [
    ("price", "-1"), ("price", "0"), ("price", "1.123456789"), ("price", "1e3"), ("price", 190.1), ("price", None),
    ("price", "NaN"), ("size", "0"), ("size", "12345678901234567890"), ("ts", "2026-11-24T14:30:00"),
    ("ts", "2026-11-24T15:30:00+01:00"), ("ts", "1969-12-31T23:59:59Z"), ("ts", "nope"), ("ts", 1795530600),
    ("symbol", "aapl"), ("symbol", "TOO_LONG_SYMBOL_NAME"), ("symbol", 5), ("venue", "V" * 17), ("venue", "Q"),
    ("seq", -1), ("seq", 7), ("seq", True), ("seq", "7"), ("colour", "red"), ("source", "feed"), ("flags", ["outlier"]),
]  # fmt: skip
TOP: list[tuple[str, Any]] = [
    ("type", "market.quote"), ("type", "market.bar"), ("id", ""), ("version", 0), ("producer", ""),
    ("occurred_at", "yesterday"), ("correlation_id", 5), ("extra", 1),
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(CHANGES), max_size=3), st.lists(st.sampled_from(TOP), max_size=1))
def test_the_plain_path_accepts_exactly_what_the_models_accept(changes: list[tuple[str, Any]],
                                                                top: list[tuple[str, Any]]) -> None:  # fmt: skip
    data = {**GOOD, **dict(changes)}
    envelope = {"id": "tick_1", "type": "market.tick", "version": 1, "occurred_at": "2026-11-24T14:30:00Z",
                "correlation_id": None, "producer": "p", "data": data, **dict(top)}  # fmt: skip
    value = json.dumps(envelope).encode()
    batch = decode_records([Record(value)])  # type: ignore[list-item]
    expected = _generic(value)
    if envelope["type"] == "market.quote":
        return  # a quote's own fields are missing: refused either way, covered below
    if expected is None:
        assert batch.trades == [] and len(batch.rejected) == 1
    else:
        assert batch.rejected == [] and [row for _, row in batch.trades] == [TradeRow(**expected.model_dump())]


def test_refusals_keep_their_reasons() -> None:
    bar = json.dumps({"id": "x", "type": "market.bar", "producer": "p", "data": {}}).encode()
    batch = decode_records([Record(b"not json", 5), Record(bar, 6)])  # type: ignore[list-item]
    reasons = [(r.offset, r.reason.split(":")[0]) for r in batch.rejected]
    assert reasons == [(5, "not an envelope"), (6, "unexpected type 'market.bar'")]


_ODD_TEXT = st.text(st.characters(codec=None, blacklist_characters="\x00"), max_size=6)  # surrogates included
_VALUES = st.one_of(st.sampled_from([*GOOD.values(), "", None, 1, 1.0, -0.0, 10**30, True, [], {}]), _ODD_TEXT)


@settings(max_examples=300, deadline=None)
@given(
    changes=st.dictionaries(st.sampled_from([*GOOD, "venue", "seq", "flags", "x"]), _VALUES, max_size=3),
    ascii_only=st.booleans(),
    at=st.integers(0, 400),
    insert=st.sampled_from(["", "x", " ", "}", ",", '"', "\\ud800", '"id":"b",', "\u00e9", "\ufeff"]),
)
def test_the_json_parser_reads_what_json_loads_read(
    changes: dict[str, Any], ascii_only: bool, at: int, insert: str
) -> None:
    # decode_records parses with pydantic's parser instead of json.loads: on any text, valid or not, the batch
    # (trades, quotes, refusals and their reasons, correlation id) is the one json.loads gave.
    envelope = {"id": "tick_1", "type": "market.tick", "version": 1, "occurred_at": "2026-11-24T14:30:00Z",
                "correlation_id": "c", "producer": "p", "data": {**GOOD, **changes}}  # fmt: skip
    text = json.dumps(envelope, ensure_ascii=ascii_only)
    text = text[:at] + insert + text[at:]
    records = [Record(value, n) for n, value in enumerate([text, text.encode("utf-8", "surrogatepass")])]

    def read() -> str:  # repr: Decimal("190.1") == Decimal("190.10"), but they are different outputs
        batch = decode_records(records)  # type: ignore[arg-type]
        ids = [eid if eid in text else "made up" for eid, _ in batch.trades]  # the model makes a missing id
        return repr((ids, [row for _, row in batch.trades], batch.quotes, batch.rejected, batch.correlation_id))

    mine = read()
    with mock.patch.object(tick_batch, "_loads", json.loads):
        assert mine == read()
