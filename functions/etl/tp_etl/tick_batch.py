"""The trades and quotes of one `market.ticks` batch, decoded without a pydantic model per tick.

bar_aggregator's hot path: a record that is exactly what `tp_etl` ingest writes (an
envelope of type `market.tick` or `market.quote` whose members are all well formed)
is read with plain checks into a `TradeRow` / `QuoteRow`. Anything else takes the
generic path (`Envelope.from_json` and the contract models), so a malformed record
is refused with the same reason as before, and nothing the models would refuse gets
through: the plain checks are stricter than or equal to the models' (a test feeds
both paths the same records).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic_core import from_json
from tradeplane.contracts.market import (
    EARLIEST,
    ENVELOPE_EXTRAS,
    QUOTE_EVENT,
    TICK_EVENT,
    quote_from_envelope,
    tick_from_envelope,
)
from tradeplane.envelope import Envelope, EnvelopeError, read_headers
from tradeplane.msk_records import MskRecord, Rejected

from tp_etl.rows import QuoteRow, TradeRow

# pydantic's JSON parser (jiter), already in every function's layer: under half json.loads' time a record. It
# refuses what json.loads refuses (and lone surrogates, which then take the generic path and its json.loads).
_loads = from_json
_PLAIN = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,8})?").fullmatch  # as tp_etl.formats: no further check needed
_SYMBOL = re.compile(r"[A-Z][A-Z0-9.\-]{0,15}").fullmatch
_ENVELOPE = frozenset({"id", "type", "version", "occurred_at", "correlation_id", "producer", "data"})
_TRADE = frozenset({"symbol", "price", "size", "ts", "venue", "seq"}) | ENVELOPE_EXTRAS
_QUOTE = frozenset({"symbol", "bid", "bid_size", "ask", "ask_size", "ts", "venue"}) | ENVELOPE_EXTRAS


@dataclass
class TickBatch:
    trades: list[tuple[str, TradeRow]] = field(default_factory=list)  # (event id, trade), in record order
    quotes: list[QuoteRow] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    correlation_id: str | None = None  # the first trade's


class _Slow(Exception):  # noqa: N818  (not an error: "take the generic path")
    pass


# The Decimal of each price or size string seen: prices and sizes repeat (a regex and a Decimal a value saved).
# Decimals are immutable, so sharing one is safe; bounded so an endless variety cannot grow it.
_DECIMALS: dict[str, Decimal] = {}
_DECIMALS_MAX = 16_384


def _decimal(value: Any) -> Decimal:
    if type(value) is str:
        number = _DECIMALS.get(value)
        if number is not None:
            return number
        if _PLAIN(value):
            if len(_DECIMALS) >= _DECIMALS_MAX:
                _DECIMALS.clear()
            number = _DECIMALS[value] = Decimal(value)
            return number
    raise _Slow


def _positive(value: Any) -> Decimal:
    number = _decimal(value)
    if number:
        return number
    raise _Slow


_size = _decimal


def _time(value: Any) -> datetime:
    if type(value) is not str or len(value) < 20 or value[-1] != "Z":
        raise _Slow
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise _Slow from None
    if ts < EARLIEST:
        raise _Slow
    return ts


def _venue(value: Any) -> str | None:
    if value is None or (type(value) is str and len(value) <= 16):
        return value
    raise _Slow


def _fast(obj: Any) -> tuple[str, str, str | None, dict[str, Any]]:
    """(id, type, correlation id, data) of a well-formed envelope; _Slow for anything to look at closer."""
    if type(obj) is not dict or obj.keys() - _ENVELOPE:
        raise _Slow
    event_id, kind, data, producer = obj.get("id"), obj.get("type"), obj.get("data"), obj.get("producer")
    correlation, version = obj.get("correlation_id"), obj.get("version", 1)
    if not (type(event_id) is str and 0 < len(event_id) <= 128 and type(data) is dict):
        raise _Slow
    if not (type(producer) is str and 0 < len(producer) <= 128 and type(version) is int and version >= 1):
        raise _Slow
    if not (correlation is None or type(correlation) is str) or kind not in (TICK_EVENT, QUOTE_EVENT):
        raise _Slow
    if "occurred_at" in obj and obj["occurred_at"] != data.get("ts"):  # ingest's: the tick's own time, read later
        _time(obj["occurred_at"])
    if type(data.get("symbol")) is not str or not _SYMBOL(data["symbol"]):
        raise _Slow
    return event_id, kind, correlation, data


def _trade(data: dict[str, Any]) -> TradeRow:
    seq = data.get("seq")
    if data.keys() - _TRADE or not (seq is None or (type(seq) is int and seq >= 0)):
        raise _Slow
    return TradeRow(data["symbol"], _positive(data.get("price")), _positive(data.get("size")), _time(data.get("ts")),
                    _venue(data.get("venue")), seq)  # fmt: skip


def _quote(data: dict[str, Any]) -> QuoteRow:
    if data.keys() - _QUOTE:
        raise _Slow
    return QuoteRow(data["symbol"], _positive(data.get("bid")), _size(data.get("bid_size")),
                    _positive(data.get("ask")), _size(data.get("ask_size")), _time(data.get("ts")),
                    _venue(data.get("venue")))  # fmt: skip


def _generic(record: MskRecord, value: bytes | str, batch: TickBatch) -> None:
    """The path every record took before: the envelope and contract models, with their reasons."""
    where = (record.topic, record.partition, record.offset)
    try:
        env = Envelope.from_json(value)
        if env.type not in (TICK_EVENT, QUOTE_EVENT):
            batch.rejected.append(Rejected(*where, f"unexpected type {env.type!r}"))
            return
        if env.type == TICK_EVENT:
            tick = tick_from_envelope(env)
            row = TradeRow(tick.symbol, tick.price, tick.size, tick.ts, tick.venue, tick.seq)
            correlation = env.correlation_id or read_headers(record.headers).get("correlation_id")
            _add_trade(batch, env.id, row, correlation)
        else:
            q = quote_from_envelope(env)
            batch.quotes.append(QuoteRow(q.symbol, q.bid, q.bid_size, q.ask, q.ask_size, q.ts, q.venue))
    except EnvelopeError as exc:
        batch.rejected.append(Rejected(*where, f"not an envelope: {exc}"[:300]))
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        batch.rejected.append(Rejected(*where, f"not a valid {TICK_EVENT} or {QUOTE_EVENT}: {exc}"[:300]))


def _add_trade(batch: TickBatch, event_id: str, row: TradeRow, correlation: str | None) -> None:
    if not batch.trades:
        batch.correlation_id = correlation
    batch.trades.append((event_id, row))


def decode_records(records: Iterable[MskRecord]) -> TickBatch:
    """Every record (`plain_records` of the MSK event: partition and offset order): a trade, a quote, or a
    rejection with its reason."""
    batch = TickBatch()
    loads = _loads
    for record in records:
        value = record.value if isinstance(record.value, str | bytes) else str(record.value)
        try:
            obj = loads(value)
        except (ValueError, TypeError):  # not JSON (TypeError: text that is not Unicode, e.g. a lone surrogate)
            _generic(record, value, batch)
            continue
        try:
            event_id, kind, correlation, data = _fast(obj)
            if kind == TICK_EVENT:
                if correlation is None and not batch.trades:
                    correlation = read_headers(record.headers).get("correlation_id")
                _add_trade(batch, event_id, _trade(data), correlation)
            else:
                batch.quotes.append(_quote(data))
        except (_Slow, ValueError):
            _generic(record, value, batch)
    return batch


__all__ = ["TickBatch", "decode_records"]
