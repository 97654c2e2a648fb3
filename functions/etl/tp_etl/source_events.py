"""Canonical events from cleaned rows, with ids derived from where each row came from.

An id is a hash of the source's identity (an S3 object's bucket, key and ETag, or
an HTTP request's feed name and body digest) and the row's kind, followed by the
row's line, so replaying the same file or request produces the same ids and
consumers drop the copies (`tradeplane.inbox`).

Each event leaves here as the bytes it is published as. Trades and quotes (the
hot path: one per tick) are written by `EventWriter` straight from the row's
values, byte for byte the JSON `Envelope.to_json()` writes for the same event (a
property test holds the two together), without building an envelope model per
tick; bars go through the generic envelope. `Outgoing.envelope` parses the bytes
back for whoever wants a model (tests, spies).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from tradeplane.contracts.market import BAR_EVENT, QUOTE_EVENT, TICK_EVENT, Bar
from tradeplane.contracts.topics import MARKET_BARS, MARKET_TICKS
from tradeplane.envelope import Envelope
from tradeplane.kafka_producer import SerializedRecord

from tp_etl.cleaning import Clean
from tp_etl.rows import BarRow, QuoteRow, TradeRow

_TYPES = {"trades": ("tick", TICK_EVENT, MARKET_TICKS), "quotes": ("quote", QUOTE_EVENT, MARKET_TICKS),
          "bars": ("bar", BAR_EVENT, MARKET_BARS)}  # fmt: skip


LINE_DIGITS = 12  # the line, zero-padded: ids of one source sort and read in file order


def source_id_prefix(prefix: str, identity: str, kind: str) -> str:
    """What every id of one source and kind starts with: `<prefix>_` and 20 hex digits of sha256(identity | kind).
    The line follows (`source_event_id`), so a whole column of ids is one join, not a hash per row."""
    return f"{prefix}_{hashlib.sha256(f'{identity}|{kind}'.encode()).hexdigest()[:20]}"


def source_event_id(prefix: str, identity: str, kind: str, line: int) -> str:
    return f"{source_id_prefix(prefix, identity, kind)}{line:0{LINE_DIGITS}d}"


@dataclass(slots=True)  # not frozen: a frozen dataclass pays a setattr per field, per row
class Outgoing:
    topic: str
    key: str
    id: str
    type: str
    value: bytes  # the envelope's JSON, as published
    line: int
    correlation_id: str | None = None
    bar: Bar | None = None  # bars also go to the bar store

    def headers(self) -> list[tuple[str, bytes]]:
        """`tradeplane.envelope.kafka_headers` of this event."""
        head = [("correlation_id", self.correlation_id.encode())] if self.correlation_id else []
        return [*head, ("type", self.type.encode()), ("id", self.id.encode())]

    @property
    def envelope(self) -> Envelope:
        return Envelope.from_json(self.value)


Record = SerializedRecord  # (key, value, headers) as published


@dataclass(slots=True)
class Batch:
    """Consecutive events of one topic in the form they are published: the bulk form of `Outgoing`, one object per
    block of rows instead of one per event (the columnar trade path writes records straight into it).

    `records[i]` is the event of source line `lines[i]`; its headers are `Outgoing.headers()`'s.
    `events` holds the same events as `Outgoing` where a row path built them (bars need them for the store)."""

    topic: str
    type: str
    lines: list[int]
    records: Sequence[Record]  # a list of tuples, or `RecordColumns`
    correlation_id: str | None = None
    events: list[Outgoing] | None = None
    header_bytes: int | None = None  # the largest record's headers (names and values), when the writer knows it

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, part: slice) -> Batch:
        return Batch(self.topic, self.type, self.lines[part], self.records[part], self.correlation_id,
                     None if self.events is None else self.events[part], self.header_bytes)  # fmt: skip

    def outgoing(self) -> list[Outgoing]:
        """The events as objects (for callers that want one per event)."""
        if self.events is not None:
            return self.events
        return [Outgoing(self.topic, key.decode(), headers["id"].decode(), self.type, value, line, self.correlation_id)
                for line, (key, value, headers) in zip(self.lines, self.records, strict=True)]  # fmt: skip

    @property
    def bars(self) -> list[Bar]:
        return [o.bar for o in self.events or () if o.bar is not None]

    @classmethod
    def of(cls, events: list[Outgoing]) -> Batch:
        """Events of one topic and type, built by a row path."""
        first = events[0]
        records: list[Record] = [(o.key.encode(), o.value, dict(o.headers())) for o in events]
        return cls(first.topic, first.type, [o.line for o in events], records, first.correlation_id, events)


def batched(events: Iterable[Outgoing], size: int) -> Iterator[Batch]:
    """Events in batches of at most `size` of one topic and type, in order. Whatever the events' source raises
    comes after the batch of the events before it (a damaged file's good rows are still delivered)."""
    group: list[Outgoing] = []
    try:
        for event in events:
            if group and (len(group) >= size or event.type != group[0].type or event.topic != group[0].topic):
                yield Batch.of(group)
                group = []
            group.append(event)
    except Exception:
        if group:
            yield Batch.of(group)
        raise
    if group:
        yield Batch.of(group)


def _string(text: str | None) -> str:
    return "null" if text is None else json.dumps(text, ensure_ascii=False)


_venue = lru_cache(maxsize=256)(_string)  # a file names a handful of venues


class EventWriter:
    """Writes the events of one source (its identity, feed name, producer and correlation id fixed)."""

    def __init__(self, *, identity: str, source: str, producer: str, correlation_id: str | None) -> None:
        self.identity, self.source, self.producer, self.correlation_id = identity, source, producer, correlation_id
        self._tail = f',"source":{_string(source)}'
        # Everything of the envelope between the event's time and its data is the same for every event.
        self._middle = f'","correlation_id":{_string(correlation_id)},"producer":{_string(producer)},"data":{{'
        self._seconds: dict[tuple[int, ...], str] = {}
        self._id_prefixes: dict[str, str] = {}

    def _time(self, ts: datetime) -> str:
        """`tradeplane.envelope.format_timestamp` (UTC, microseconds, "Z"), the second's text cached."""
        key = (ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second)
        prefix = self._seconds.get(key)
        if prefix is None:
            if len(self._seconds) > 4096:
                self._seconds.clear()
            prefix = self._seconds[key] = ts.strftime("%Y-%m-%dT%H:%M:%S.")
        return f"{prefix}{ts.microsecond:06d}Z"

    def id_prefix(self, kind: str) -> str:
        """`source_id_prefix` of this source and kind (the identity hashed once per kind)."""
        found = self._id_prefixes.get(kind)
        if found is None:
            found = self._id_prefixes[kind] = source_id_prefix(_TYPES[kind][0], self.identity, kind)
        return found

    def trade_parts(self) -> tuple[str, str]:
        """What a trade's envelope holds between its time and its data, and after its data (no flags)."""
        return self._middle, self._data_end(())

    def _data_end(self, flags: tuple[str, ...]) -> str:
        if not flags:
            return f"{self._tail}}}}}"
        return f'{self._tail},"flags":{json.dumps(list(flags), separators=(",", ":"), ensure_ascii=False)}}}}}'

    def write(self, row: Clean) -> Outgoing:
        _, event_type, topic = _TYPES[row.kind]
        event_id = f"{self.id_prefix(row.kind)}{row.line:0{LINE_DIGITS}d}"
        record = row.record
        if isinstance(record, BarRow):
            return self._bar(row, record, event_id, event_type, topic)
        ts = record.ts if record.ts.tzinfo is UTC else record.ts.astimezone(UTC)
        when = self._time(ts)
        head = f'{{"id":"{event_id}","type":"{event_type}","version":1,"occurred_at":"{when}{self._middle}'
        if isinstance(record, TradeRow):
            seq = "null" if record.seq is None else str(record.seq)
            data = (f'"symbol":"{record.symbol}","price":"{record.price!s}","size":"{record.size!s}","ts":"{when}",'
                    f'"venue":{_venue(record.venue)},"seq":{seq}')  # fmt: skip
        else:
            q: QuoteRow = record
            data = (f'"symbol":"{q.symbol}","bid":"{q.bid!s}","bid_size":"{q.bid_size!s}","ask":"{q.ask!s}",'
                    f'"ask_size":"{q.ask_size!s}","ts":"{when}","venue":{_venue(q.venue)}')  # fmt: skip
        value = f"{head}{data}{self._data_end(row.flags)}".encode()
        return Outgoing(topic, record.symbol, event_id, event_type, value, row.line, self.correlation_id)

    def _bar(self, row: Clean, record: BarRow, event_id: str, event_type: str, topic: str) -> Outgoing:
        bar = record.contract()
        data = {**bar.__dict__, "source": self.source}
        if row.flags:
            data["flags"] = list(row.flags)
        envelope = Envelope.model_construct(
            id=event_id,
            type=event_type,
            version=1,
            occurred_at=bar.bucket_start.astimezone(UTC),
            correlation_id=self.correlation_id,
            producer=self.producer,
            data=data,
        )
        return Outgoing(topic, bar.symbol, event_id, event_type, envelope.to_json(), row.line, self.correlation_id, bar)


def to_event(row: Clean, *, identity: str, source: str, producer: str, correlation_id: str | None) -> Outgoing:
    """One row's event (a writer per source is cheaper: `EventWriter`)."""
    return EventWriter(identity=identity, source=source, producer=producer, correlation_id=correlation_id).write(row)


__all__ = ["Batch", "EventWriter", "Outgoing", "Record", "batched", "source_event_id", "source_id_prefix", "to_event"]
