"""Trade CSV files read in blocks of columns (pyarrow), checked and cleaned mostly as whole columns.

The hot path of file ingest. A block (~1 MB of whole lines) is parsed by pyarrow's CSV reader with every
column as text; whole-column tests pick the rows whose values need no further checks (a plain decimal
without leading zeros, so its text is what `str(Decimal)` writes; an ISO time in UTC; a short plain
venue; a plain sequence number); pyarrow then builds each plain row's key for duplicate detection, its id
(the source's id prefix and the line: `source_event_id`) and the JSON of its event. Every other row goes
through the row readers of `tp_etl.formats`, which give the rejection reasons, and its event through
`EventWriter`: so accepted rows, rejections, notices, ids and bytes are those of `tp_etl.pipeline` (the
format, cleaning and S3 tests run through here).

A block with nothing for a cleaning rule to do (every row plain, none late, no key seen in the block or in
the duplicate window, each symbol's times not going back) is cleaned as a whole: set operations in C and
pyarrow, then the window, latest times and counts updated in bulk, as row by row would leave them. Per row
there is then only its headers' dict: keys, values and headers go to the producer as a `Batch`'s
`RecordColumns`. Any other block goes row by row through the same rules (`_keep`), so a duplicate or a late
row costs its own block the fast path, nothing more. A block holding a quote character or a blank line
(where a file line is no longer a CSV row) sends the rest of the file through `csv.reader` and the row
loop. Quotes, bars and the outlier rule (whose reference price moves row by row) keep the row path.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from itertools import islice
from typing import Any, ParamSpec, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from tradeplane.contracts.market import TICK_EVENT
from tradeplane.contracts.topics import MARKET_TICKS
from tradeplane.kafka_producer import RecordColumns

from tp_etl.cleaning import Clean, Cleaner, CleaningRules, Notice
from tp_etl.formats import Kind, Layout, Parsed, Rejection, RowContext, RowReader, read_csv, row_reader
from tp_etl.pipeline import events
from tp_etl.report import IngestReport
from tp_etl.rows import TradeRow
from tp_etl.source_events import LINE_DIGITS, Batch, EventWriter, Outgoing, Record, batched
from tp_etl.symbols import SymbolError, normalise_symbol

P = ParamSpec("P")
BLOCK_BYTES = 1 << 20
ROW_BATCH = 1_000  # events a batch of the row path holds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Plain amounts: `str(Decimal(text)) == text` (no leading zeros, sign, exponent, spaces), within 18 digits / 8 places
# (and at least 1e-6: `_plain_amounts`).
_PLAIN = r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,8})?$"
_ISO_UTC = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$"
_ISO_NAIVE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z?$"  # naive read as UTC
_PLAIN_VENUE = r'^[^"\\\x00-\x1f\s]{1,16}$'
_PLAIN_SEQ = r"^(0|[1-9][0-9]{0,17})?$"
TICK_TYPE = TICK_EVENT.encode()


def _text_stream(head: bytes, rest: io.BufferedIOBase) -> io.TextIOWrapper:
    class _Chain(io.RawIOBase):
        def __init__(self) -> None:
            self.head = head

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            if self.head:
                data, self.head = self.head[: len(buffer)], self.head[len(buffer) :]
            else:
                data = rest.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)

    return io.TextIOWrapper(io.BufferedReader(_Chain(), 1 << 16), encoding="utf-8", newline="")


def file_batches(
    raw: io.BufferedIOBase,
    ctx: RowContext,
    kind: Kind | None,
    rules: CleaningRules,
    report: IngestReport,
    *,
    identity: str,
    producer: str,
    correlation_id: str | None,
) -> Iterator[Batch]:
    """A CSV file's events (header first) as `events(read_csv(...))` gives them, in batches: trades through the
    columnar path (a batch per block), everything else through the row path. Raises LayoutError (while
    iterated) for a bad header."""
    writer = EventWriter(identity=identity, source=report.source, producer=producer, correlation_id=correlation_id)
    first = raw.readline().removeprefix(codecs.BOM_UTF8)
    header = next(csv.reader([first.decode()]), []) if first.strip() and b'"' not in first else None
    if header is not None:
        layout = Layout.from_header(header, kind)
        if layout.kind == "trades" and rules.max_jump is None:
            yield from _TradeFile(layout, ctx, rules, report, writer).run(raw, len(header))
            return
    stream = _text_stream(first, raw)
    rows = read_csv(csv.reader(stream), ctx, kind)
    cleaner = Cleaner(rules)
    yield from batched(events(rows, cleaner, report, identity=identity, producer=producer,
                              correlation_id=correlation_id), ROW_BATCH)  # fmt: skip


def _one_by_one(batches: Callable[P, Iterator[Batch]]) -> Callable[P, Iterator[Outgoing]]:
    def events(*args: P.args, **kwargs: P.kwargs) -> Iterator[Outgoing]:
        for batch in batches(*args, **kwargs):
            yield from batch.outgoing()

    return events


file_events = _one_by_one(file_batches)  # the same, one `Outgoing` per event (the HTTP route, tests)


# An amount in a duplicate key is its count of 1e-8 units, so Decimal-equal texts (`190.5`, `190.50`) give one
# key: plain amounts fit decimal128(18, 8), whose value is that count (a third of the cost of a regex rewrite).
_KEY_AMOUNT = pa.decimal128(18, 8)


def _canon_decimal(value: Decimal) -> str:
    """`_plain_amounts`' key text for a row-path amount: its count of 1e-8 units where whole, else its normalised
    decimal text (which holds a point, so it never equals a count)."""
    units = value.scaleb(8)
    return str(int(units)) if units == units.to_integral_value() else format(value.normalize(), "f")


class _TradeFile:
    def __init__(self, layout: Layout, ctx: RowContext, rules: CleaningRules, report: IngestReport,
                 writer: EventWriter) -> None:  # fmt: skip
        self.columns, self.ctx, self.rules, self.report, self.writer = layout.columns, ctx, rules, report, writer
        self.read: RowReader = row_reader("trades", layout.columns, ctx)
        self.at = {name: i for i, name in enumerate(layout.columns) if name}
        self.seen: dict[str, int] = {}  # insertion-ordered: the oldest fingerprint is evicted first, as Cleaner
        self.latest: dict[str, tuple[int, int]] = {}
        self.not_after = None if rules.not_after is None else _micros(rules.not_after)
        self.late = "" if rules.not_after is None else f"is after {rules.not_after.isoformat()} (clock ahead)"
        self.id_prefix = writer.id_prefix("trades")
        cid = writer.correlation_id
        # Headers as a dict of bytes: the collector does not track it, where a list of pairs per record cost it
        # more than building the records (full collections over every live object, ~half the CPU of a block).
        self.cid = cid.encode() if cid else None
        # Every record's headers are `_headers`' with its id: their size but the id's (`_batch`'s bound).
        self.fixed_header_bytes = sum(len(k) + len(v) for k, v in self._headers([b""])[0].items())
        self.head, self.tail = writer.trade_parts()
        self.symbols: dict[str, str | None] = {}
        self.line = 1

    def run(self, raw: io.BufferedIOBase, width: int) -> Iterator[Batch]:
        names = [f"c{i}" for i in range(width)]
        options = (
            pacsv.ReadOptions(column_names=names, use_threads=False),
            pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False),
            pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False),
        )
        while block := raw.read(BLOCK_BYTES):
            if not block.endswith(b"\n"):
                block += raw.readline()
            table = None
            if b'"' not in block and b"\n\n" not in block and b"\n\r\n" not in block and block[:1] not in b"\r\n":
                try:
                    table = pacsv.read_csv(io.BytesIO(block), *options)
                except pa.ArrowInvalid:  # a row of another width, text that is not UTF-8: the row path says which
                    table = None
            if table is None:
                yield from batched(self._rows(csv.reader(_text_stream(block, raw)), width), ROW_BATCH)
                return
            batch = self._block(table)
            if batch:
                yield batch

    def _rows(self, rows: Iterator[list[str]], width: int) -> Iterator[Outgoing]:
        """The row path, from here to the end of the file (`formats.read_csv`'s loop)."""
        for values in rows:
            self.line += 1
            if len(values) == width:
                out = self._slow(values, self.line)
                if out is not None:
                    yield out
            elif not values or (len(values) == 1 and not values[0].strip()):
                continue
            else:
                self.report.reject(Rejection(self.line, "row", f"has {len(values)} fields; the header has {width}"))

    def _slow(self, values: list[str], line: int) -> Outgoing | None:
        parsed = self.read(values, line)
        if isinstance(parsed, Rejection):
            self.report.reject(parsed)
            return None
        assert isinstance(parsed, Parsed) and isinstance(parsed.record, TradeRow)
        r = parsed.record
        venue = "null" if r.venue is None else f'"{r.venue}"'  # the key's form only: never written from here
        seq = "null" if r.seq is None else str(r.seq)
        key = f"{r.symbol}|{_canon_decimal(r.price)}|{_canon_decimal(r.size)}|{_micros(r.ts)}|{venue}|{seq}"
        if not self._keep(line, key, r.symbol, _micros(r.ts)):
            return None
        return self.writer.write(Clean(line, "trades", r))

    def _keep(self, line: int, key: str, symbol: str, micros: int) -> bool:
        """Cleaner.check for one trade without the outlier rule: False when dropped or rejected."""
        report = self.report
        if self.not_after is not None and micros > self.not_after:
            report.reject(Rejection(line, "timestamp", self.late))
            return False
        seen = self.seen
        first = seen.get(key)
        if first is not None:
            report.note(Notice(line, "duplicate", f"exact duplicate of line {first}", dropped=True))
            return False
        seen[key] = line
        if len(seen) > self.rules.window:
            del seen[next(iter(seen))]
        latest = self.latest.get(symbol)
        if latest is not None and micros < latest[0]:
            when = (_EPOCH + timedelta(microseconds=latest[0])).isoformat()
            report.note(Notice(line, "out_of_order", f"earlier than line {latest[1]} ({when})"))
        else:
            self.latest[symbol] = (micros, line)
        report.accepted["trades"] += 1
        return True

    def _column(self, table: pa.Table, name: str) -> pa.Array | None:
        index = self.at.get(name)
        return None if index is None else table.column(index).combine_chunks()

    def _symbol_column(self, table: pa.Table) -> pa.Array:
        """Normalised symbols (null where a row needs the row path), each distinct text normalised once."""
        text = self._column(table, "symbol")
        if text is None:
            text = _text("", table.num_rows)
        encoded = pc.dictionary_encode(text)
        names = [self._symbol(t) for t in encoded.dictionary.to_pylist()]
        return pa.array(names, pa.string()).take(encoded.indices)

    def _symbol(self, text: str) -> str | None:
        if text not in self.symbols:
            try:
                self.symbols[text] = normalise_symbol(text.strip() or self.ctx.symbol or "")
            except SymbolError:
                self.symbols[text] = None
        return self.symbols[text]

    def _block(self, table: pa.Table) -> Batch:
        n = table.num_rows
        symbol = self._symbol_column(table)
        price, size = self._column(table, "price"), self._column(table, "size")
        assert price is not None and size is not None  # required columns of trades
        price_ok, price_key = _plain_amounts(price)
        size_ok, size_key = _plain_amounts(size)
        fast = pc.and_(pc.is_valid(symbol), pc.and_(price_ok, size_ok))
        ts_text = self._column(table, "ts")
        micros = pa.repeat(0, n).cast(pa.int64())
        naive = pa.repeat("", n).cast(pa.string())
        if ts_text is not None:
            pattern = _ISO_NAIVE if _is_utc(self.ctx.tz) else _ISO_UTC
            iso = pc.match_substring_regex(ts_text, pattern)
            naive = pc.utf8_rtrim(pc.if_else(iso, ts_text, "1970-01-01T00:00:00"), characters="Z")
            try:
                micros = pc.cast(pc.cast(naive, pa.timestamp("us")), pa.int64())
                fast = pc.and_(fast, pc.and_(iso, pc.greater_equal(micros, 0)))
            except pa.ArrowInvalid:  # a date that does not exist: the row path names the field
                fast = pa.repeat(False, n)
        else:
            fast = pa.repeat(False, n)
        venue = self._column(table, "venue")
        venue_json: pa.Array | str = "null"
        if venue is not None:
            empty = pc.equal(venue, "")
            fast = pc.and_(fast, pc.or_(empty, pc.match_substring_regex(venue, _PLAIN_VENUE)))
            venue_json = pc.if_else(empty, "null", pc.binary_join_element_wise('"', venue, '"', ""))
        seq = self._column(table, "seq")
        seq_json: pa.Array | str = "null"
        if seq is not None:
            fast = pc.and_(fast, pc.match_substring_regex(seq, _PLAIN_SEQ))
            seq_json = pc.if_else(pc.equal(seq, ""), "null", seq)
        fast = pc.fill_null(fast, False)
        # The event's time as format_timestamp writes it (6 places), from the checked text; "Z" is in the template.
        seconds_only = pc.equal(pc.utf8_length(naive), 19)
        dotted = pc.if_else(seconds_only, pc.binary_join_element_wise(naive, _text(".", n), ""), naive)
        when = pc.ascii_rpad(dotted, width=26, padding="0")
        symbol = pc.fill_null(symbol, "")
        # Constants as whole columns: binary_join_element_wise is ~50x slower per row with scalar arguments.
        key = pc.binary_join_element_wise(symbol, price_key, size_key, pc.cast(micros, pa.string()),
                                          _text(venue_json, n), _text(seq_json, n), "|")  # fmt: skip
        first = self.line + 1
        line_text = pc.utf8_lpad(pc.cast(pa.array(range(first, first + n), pa.int64()), pa.string()), LINE_DIGITS, "0")
        ids = pc.binary_join_element_wise(_text(self.id_prefix, n), line_text, "")
        parts = ('{"id":"', ids, '","type":"' + TICK_EVENT + '","version":1,"occurred_at":"', when,
                 "Z" + self.head + '"symbol":"', symbol, '","price":"', price, '","size":"', size, '","ts":"', when,
                 'Z","venue":', venue_json, ',"seq":', seq_json, self.tail)  # fmt: skip
        value = _bytes(pc.binary_join_element_wise(*(_text(part, n) for part in parts), ""))
        if self._plain_block(fast, key, symbol, micros, first):  # cleaned as a whole: only the headers are left
            self.line += n
            return self._batch(list(range(first, first + n)),
                               RecordColumns(_bytes(symbol), value, self._headers(_bytes(ids))))  # fmt: skip
        return self._emit(table, fast.to_pylist(), key.to_pylist(), symbol.to_pylist(), micros.to_pylist(), value,
                          _bytes(ids))  # fmt: skip

    def _plain_block(self, fast: pa.Array, key: pa.Array, symbol: pa.Array, micros: pa.Array,
                     first: int) -> bool:  # fmt: skip
        """Clean a block as a whole when nothing in it needs a rule: every row plain, none late, no duplicate
        (inside the block or of the window), each symbol's times not decreasing from its latest kept time. Then
        the window, the latest times and the count are left as `_keep` row by row would leave them (True);
        False (nothing changed): the block goes row by row."""
        n = len(key)
        if not n or not pc.all(fast).as_py():
            return False
        if self.not_after is not None and pc.max(micros).as_py() > self.not_after:
            return False
        block = dict(zip(key.to_pylist(), range(first, first + n), strict=True))
        seen = self.seen
        if len(block) != n or not seen.keys().isdisjoint(block):
            return False
        latest = self._block_latest(symbol, micros, first)
        if latest is None:
            return False
        # All keys are new and distinct, so row by row would have added each and evicted the oldest beyond the
        # window after each: the same as adding all, then evicting as many of the oldest.
        seen.update(block)
        for old in list(islice(seen, max(0, len(seen) - self.rules.window))):
            del seen[old]
        self.latest.update(latest)
        self.report.accepted["trades"] += n
        return True

    def _block_latest(self, symbol: pa.Array, micros: pa.Array, first: int) -> dict[str, tuple[int, int]] | None:
        """Each symbol's latest (time, line) after the block, or None when a row is earlier than its symbol's
        latest (in the block, or kept before it): an out-of-order notice, which the row path writes."""
        encoded = pc.dictionary_encode(symbol)
        order = pc.sort_indices(encoded.indices)  # a stable sort: each symbol's rows stay in file order
        codes, times = encoded.indices.take(order), micros.take(order)
        n = len(codes)
        if n > 1:
            same = pc.equal(codes.slice(1), codes.slice(0, n - 1))
            if pc.any(pc.and_(same, pc.less(times.slice(1), times.slice(0, n - 1)))).as_py():
                return None
        ends = [*pc.indices_nonzero(pc.not_equal(codes.slice(1), codes.slice(0, n - 1))).to_pylist(), n - 1]
        names, latest = encoded.dictionary.to_pylist(), self.latest
        found: dict[str, tuple[int, int]] = {}
        start = 0
        for end in ends:
            name = names[codes[start].as_py()]
            kept = latest.get(name)
            if kept is not None and times[start].as_py() < kept[0]:
                return None
            found[name] = (times[end].as_py(), first + order[end].as_py())
            start = end + 1
        return found

    def _headers(self, ids: list[bytes]) -> list[dict[str, bytes]]:
        kind, cid = TICK_TYPE, self.cid
        if cid is None:  # dict displays: half the cost of merging a template dict into each
            return [{"type": kind, "id": event_id} for event_id in ids]
        return [{"correlation_id": cid, "type": kind, "id": event_id} for event_id in ids]

    def _batch(self, lines: list[int], records: Sequence[Record]) -> Batch:
        # The last line's id is the longest: the prefix and the line, at least LINE_DIGITS digits.
        longest = len(self.id_prefix) + max(LINE_DIGITS, len(str(lines[-1]))) if lines else 0
        return Batch(MARKET_TICKS, TICK_EVENT, lines, records, self.writer.correlation_id,
                     header_bytes=self.fixed_header_bytes + longest)  # fmt: skip

    def _emit(self, table: pa.Table, fast: list[bool], keys: list[str], symbols: list[str], micros: list[int],
              values: list[bytes], ids: list[bytes]) -> Batch:  # fmt: skip
        """A block row by row (`_keep` for plain rows, the row readers for the others), in file order."""
        lines: list[int] = []
        records: list[Record] = []
        headers = self._headers(ids)
        line = self.line
        for i, is_plain in enumerate(fast):
            line += 1
            if not is_plain:
                out = self._slow([c[i].as_py() for c in table.columns], line)
                if out is not None:
                    lines.append(line)
                    records.append((out.key.encode(), out.value, dict(out.headers())))
            elif self._keep(line, keys[i], symbols[i], micros[i]):
                lines.append(line)
                records.append((symbols[i].encode(), values[i], headers[i]))
        self.line = line
        return self._batch(lines, records)


def _bytes(text: pa.Array) -> list[bytes]:
    return cast("list[bytes]", pc.cast(text, pa.binary()).to_pylist())


def _text(part: pa.Array | str, n: int) -> pa.Array:
    return pa.repeat(part, n).cast(pa.string()) if isinstance(part, str) else part


def _plain_amounts(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Which texts are plain positive amounts, and each one's key text (that of `0` for the others)."""
    # Below 1e-6, `str(Decimal)` writes an exponent (`0.00000001` -> `1E-8`): the row path writes those.
    plain = pc.and_(pc.match_substring_regex(text, _PLAIN), pc.invert(pc.starts_with(text, "0.000000")))
    amount = pc.cast(pc.if_else(plain, text, "0"), _KEY_AMOUNT)
    # A plain amount's count of 1e-8 units is below 1e18 < 2**63: the low (little-endian) word of its decimal128.
    words = pa.Array.from_buffers(pa.int64(), 2 * (len(amount) + amount.offset), [None, amount.buffers()[1]])
    units = pc.list_element(pa.FixedSizeListArray.from_arrays(words, 2).slice(amount.offset), 0)
    return pc.and_(plain, pc.greater(units, 0)), pc.cast(units, pa.string())


def _is_utc(zone: tzinfo) -> bool:
    return zone is UTC or getattr(zone, "key", None) in ("UTC", "Etc/UTC")


def _micros(when: datetime) -> int:
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


__all__ = ["BLOCK_BYTES", "file_batches", "file_events"]
