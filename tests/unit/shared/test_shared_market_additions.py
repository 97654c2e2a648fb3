"""Shared-layer additions for market data: envelopes by type (quotes beside trades), text bodies a route reads
itself (CSV), and the quote contract."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from pydantic import ValidationError
from tradeplane.contracts.market import QUOTE_EVENT, TICK_EVENT, Quote, quote_from_envelope, tick_from_envelope
from tradeplane.envelope import Envelope
from tradeplane.http_guard import check_request
from tradeplane.msk_records import envelopes, envelopes_by_type, parse_msk_event
from tradeplane_local import events

TICK = {"symbol": "AAPL", "price": "1", "size": "1", "ts": "2026-11-24T14:30:00Z", "source": "f", "flags": ["outlier"]}
QUOTE = {"symbol": "AAPL", "bid": "1", "bid_size": "0", "ask": "1.1", "ask_size": "2", "ts": "2026-11-24T14:30:00Z"}


def _event(*types: str) -> object:
    payloads = {TICK_EVENT: TICK, QUOTE_EVENT: QUOTE, "market.other": {}}
    records = [
        events.KafkaRecord("market.ticks", 0, i, 0, b"AAPL", Envelope.new(t, payloads[t], producer="p").to_json())
        for i, t in enumerate(types)
    ]
    return parse_msk_event(events.msk_event(records, "b:9092"))


def test_envelopes_by_type_groups_in_order_and_rejects_the_rest() -> None:
    grouped, rejected = envelopes_by_type(
        _event(TICK_EVENT, QUOTE_EVENT, "market.other", TICK_EVENT), (TICK_EVENT, QUOTE_EVENT)
    )  # type: ignore[arg-type]
    assert [len(grouped[TICK_EVENT]), len(grouped[QUOTE_EVENT])] == [2, 1]
    assert [r.offset for r in rejected] == [2] and "market.other" in rejected[0].reason
    ticks, rejected = envelopes(_event(TICK_EVENT, QUOTE_EVENT), TICK_EVENT, skip_types={QUOTE_EVENT})  # type: ignore[arg-type]
    assert len(ticks) == 1 and rejected == []
    assert tick_from_envelope(ticks[0]).price == Decimal(1)  # source and flags are not tick fields
    assert quote_from_envelope(grouped[QUOTE_EVENT][0]).ask == Decimal("1.1")


def test_quote_contract() -> None:
    with pytest.raises(ValidationError):
        Quote.model_validate({**QUOTE, "bid": "0"})
    with pytest.raises(ValidationError):
        Quote.model_validate({**QUOTE, "ts": "2026-11-24T14:30:00"})


def _request(body: bytes, content_type: str, *, b64: bool = False) -> dict[str, object]:
    text = base64.b64encode(body).decode() if b64 else body.decode("latin-1")
    return {"body": text, "isBase64Encoded": b64, "headers": {"Content-Type": content_type}}


def test_text_types_a_route_reads_itself() -> None:
    csv = b"timestamp,price,size\n2026-11-24T14:30:00Z,1,1\n"
    assert check_request(_request(csv, "text/csv; charset=utf-8"), ("text/csv",)) is None
    refused = check_request(_request(csv, "text/csv"))  # a route that does not read CSV
    assert refused is not None and refused.status == 415
    not_utf8 = check_request(_request(b"\xff\xfe", "text/csv", b64=True), ("text/csv",))
    assert not_utf8 is not None and not_utf8.status == 400
    other = check_request(_request(csv, "text/plain"), ("text/csv",))
    assert other is not None and other.status == 415 and "text/csv" in (other.detail or "")


def test_discard_pending_drops_what_a_dead_broker_left_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    from support.reset import reset_all
    from tradeplane import kafka_producer

    monkeypatch.setenv("TP_KAFKA_BOOTSTRAP", "127.0.0.1:9")
    reset_all()
    try:
        assert kafka_producer.reachable(timeout=0.5) is False
        kafka_producer.publish_many("market.ticks", [("AAPL", Envelope.new(TICK_EVENT, TICK, producer="p"))])
        assert kafka_producer.discard_pending() == 1
        assert len(kafka_producer.producer()) == 0
        kafka_producer.flush(1)  # nothing left to deliver, no stale delivery errors
    finally:
        reset_all()
