"""Rows of market data files and requests, read into row tuples (`tp_etl.rows`) shaped like the contract models.

Three kinds, told apart by their columns: OHLCV bars (open, high, low, close),
quotes (bid, ask) and trades (price). Column names are matched after folding
case, spaces and dashes, against the spellings vendors use (`Adj Close` is
known and ignored; a column nobody knows is refused, naming it). A row either
parses into one row or yields a `Rejection` naming its line and field; this
module never drops anything itself (cleaning rules are in `tp_etl.cleaning`).

The hot path of every ingest: a header compiles into one reader function per file
(`row_reader`) that picks its columns by position and checks each value with plain
code (a plain decimal is matched once, not taken apart); a JSON item goes through
the same readers, compiled per set of keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from tp_etl.rows import BarRow, QuoteRow, Record, TradeRow
from tp_etl.symbols import SymbolError, normalise_symbol
from tp_etl.timestamps import TimestampError, is_date_only, parse_timestamp

Kind = Literal["bars", "trades", "quotes"]
KINDS: tuple[Kind, ...] = ("bars", "trades", "quotes")

MAX_DIGITS, MAX_PLACES = 18, 8  # tradeplane.contracts.market.Price / Quantity

_COMMON = {
    "symbol": ("symbol", "ticker", "sym", "instrument"),
    "ts": ("timestamp", "ts", "t", "datetime", "date_time", "time_stamp"),
    "date": ("date", "day"),
    "time": ("time",),
}
_FIELDS: dict[Kind, dict[str, tuple[str, ...]]] = {
    "bars": {
        "open": ("open", "o", "open_price"),
        "high": ("high", "h", "high_price"),
        "low": ("low", "l", "low_price"),
        "close": ("close", "c", "close_price", "last"),
        "volume": ("volume", "vol", "v"),
        "trade_count": ("trade_count", "trades", "n", "count", "num_trades", "number_of_trades"),
        "vwap": ("vwap", "vw"),
    },
    "trades": {
        "price": ("price", "p", "trade_price", "last", "last_price"),
        "size": ("size", "s", "qty", "quantity", "volume", "vol", "v", "trade_size"),
        "venue": ("exchange", "venue", "x", "ex"),
        "seq": ("sequence", "seq", "seq_no", "sequence_number", "trade_id", "id", "i"),
    },
    "quotes": {
        "bid": ("bid", "bid_price", "bp", "bidprice", "best_bid"),
        "bid_size": ("bid_size", "bs", "bidsize", "bid_qty", "bid_volume"),
        "ask": ("ask", "ask_price", "ap", "askprice", "offer", "best_ask"),
        "ask_size": ("ask_size", "as", "asksize", "ask_qty", "ask_volume", "offer_size"),
        "venue": ("exchange", "venue", "x", "ex"),
    },
}
# Known columns the platform does not keep (adjusted prices, condition codes, per-side exchanges).
_IGNORED: dict[Kind, frozenset[str]] = {
    "bars": frozenset({"adj_close", "adjusted_close", "adjclose", "dividends", "stock_splits", "open_interest"}),
    "trades": frozenset({"conditions", "c", "z", "tape", "condition"}),
    "quotes": frozenset({"conditions", "c", "z", "tape", "bx", "ax", "bid_exchange", "ask_exchange"}),
}
_REQUIRED: dict[Kind, tuple[str, ...]] = {
    "bars": ("open", "high", "low", "close"),
    "trades": ("price", "size"),
    "quotes": ("bid", "ask"),
}


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a row (or the header, line 1) was refused. `line` is the file line, or the item number in JSON."""

    line: int
    field: str
    reason: str
    loc: str | None = None  # JSON bodies: the member's path as pydantic writes it (`body.ticks.1.price`)

    def as_dict(self) -> dict[str, Any]:
        found = {"line": self.line, "field": self.field, "reason": self.reason}
        return {**found, "loc": self.loc} if self.loc else found


@dataclass(slots=True)  # not frozen: a frozen dataclass pays a setattr per field, per row
class Parsed:
    line: int
    kind: Kind
    record: Record


class LayoutError(ValueError):
    """The header (or a JSON section's keys) cannot be read as any kind; `rejection` says where."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(f"line {rejection.line}, {rejection.field}: {rejection.reason}")
        self.rejection = rejection


def fold_name(name: str) -> str:
    """`" Adj Close"` -> `adj_close`, `"<TICKER>"` -> `ticker`, `"Bid-Size"` -> `bid_size`."""
    return re.sub(r"[\s\-/]+", "_", name.replace("\ufeff", "").strip().strip("<>").strip().lower())


def _lookup(kind: Kind) -> dict[str, str]:
    table = {alias: canon for canon, aliases in _COMMON.items() for alias in aliases}
    table.update({alias: canon for canon, aliases in _FIELDS[kind].items() for alias in aliases})
    return table


_LOOKUP = {kind: _lookup(kind) for kind in KINDS}


def detect_kind(names: Iterable[str]) -> Kind | None:
    folded = {fold_name(n) for n in names}
    order: tuple[Kind, ...] = ("bars", "quotes", "trades")  # bars first: their columns include "close"/"last"
    for kind in order:
        table = _LOOKUP[kind]
        present = {table[n] for n in folded if n in table}
        if set(_REQUIRED[kind]) <= present:
            return kind
    return None


@dataclass(frozen=True)
class Layout:
    """Which canonical field each column holds, for one kind."""

    kind: Kind
    columns: tuple[str | None, ...]  # canonical name per column; None: a known column we ignore

    @classmethod
    def from_header(cls, names: Sequence[str], kind: Kind | None = None, *, line: int = 1) -> Layout:
        kind = kind or detect_kind(names)
        if kind is None:
            raise LayoutError(
                Rejection(line, "header", "cannot tell the kind: bars need open, high, low, close; "
                          "quotes need bid, ask; trades need price, size")
            )  # fmt: skip
        table, ignored = _LOOKUP[kind], _IGNORED[kind]
        columns: list[str | None] = []
        for raw in names:
            name = fold_name(raw)
            if name in table:
                columns.append(table[name])
            elif name in ignored or name == "":
                columns.append(None)
            else:
                raise LayoutError(Rejection(line, raw[:40] or "header", f"unknown column for {kind}"))
        present = {c for c in columns if c}
        for canon in present:
            if columns.count(canon) > 1:
                raise LayoutError(Rejection(line, canon, "more than one column holds this field"))
        missing = [f for f in _REQUIRED[kind] if f not in present]
        if not ({"ts", "date", "time"} & present):
            missing.append("timestamp")
        if missing:
            raise LayoutError(Rejection(line, ", ".join(missing), f"missing column(s) for {kind}"))
        return cls(kind, tuple(columns))


@dataclass(frozen=True)
class RowContext:
    """What a row may leave out: the symbol (from a field or the file name), the zone of naive times, the interval."""

    symbol: str | None = None
    tz: tzinfo = UTC
    interval: str | None = None  # bars: "1m" unless given; a date-only timestamp means "1d"


class _FieldError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


# A plain decimal that needs no further check: at most 10 + 8 digits, no sign, exponent or spaces.
# Anything else (and zero) takes the full checks in `_decimal`, which give the reasons.
_PLAIN = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,8})?").fullmatch


def _decimal(text: str, name: str, *, positive: bool, required: bool = True) -> Decimal | None:
    text = text.strip()
    if not text:
        if required:
            raise _FieldError(name, "is empty")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _FieldError(name, "is not a number") from None
    if not value.is_finite():
        raise _FieldError(name, "is not a finite number")
    if positive and value <= 0:
        raise _FieldError(name, "must be positive")
    if value < 0:
        raise _FieldError(name, "must not be negative")
    digits, exponent = _size(value)
    if -exponent > MAX_PLACES or digits > MAX_DIGITS:
        digits, exponent = _size(value.normalize())  # trailing zeros do not count
        if -exponent > MAX_PLACES or digits > MAX_DIGITS:
            raise _FieldError(name, f"has more than {MAX_DIGITS} digits or {MAX_PLACES} decimal places")
    return value


def _size(value: Decimal) -> tuple[int, int]:
    """(digits in all, exponent) as pydantic counts them: `12.50` -> (4, -2), `1E+3` -> (4, 0)."""
    t = value.as_tuple()
    exponent = t.exponent if isinstance(t.exponent, int) else 0
    if exponent >= 0:
        return len(t.digits) + exponent, 0
    return max(len(t.digits), -exponent), exponent


def _positive(text: str, name: str) -> Decimal:
    if _PLAIN(text):
        value = Decimal(text)
        if value:
            return value
    checked = _decimal(text, name, positive=True)
    assert checked is not None  # required fields raise instead
    return checked


def _amount(text: str, name: str, *, positive: bool = False) -> Decimal | None:
    """An optional quantity: None when empty."""
    if _PLAIN(text):
        value = Decimal(text)
        if value or not positive:
            return value
    return _decimal(text, name, positive=positive, required=False)


def _count(text: str, name: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise _FieldError(name, "must be a non-negative integer")
    return int(text)


def _venue(text: str) -> str | None:
    venue = text.strip()
    if len(venue) > 16:
        raise _FieldError("venue", "is longer than 16 characters")
    return venue or None


Values = Sequence[str]
_EMPTY: Callable[[Values], str] = lambda _values: ""  # noqa: E731  (a column the layout does not have)


def _column(at: Mapping[str, int], name: str) -> Callable[[Values], str]:
    """Reads one canonical field's text out of a row (compiled once per layout, called per row)."""
    index = at.get(name)
    return _EMPTY if index is None else (lambda values: values[index])


def _times(at: Mapping[str, int], tz: tzinfo) -> Callable[[Values], tuple[datetime, str]]:
    """The row's time (UTC) and the text it was read from (a date alone makes a daily bar)."""
    if "ts" in at:
        column, name = _column(at, "ts"), "timestamp"
    elif "date" in at and "time" in at:
        date, clock = _column(at, "date"), _column(at, "time")

        def column(values: Values) -> str:
            day, moment = date(values).strip(), clock(values).strip()
            return f"{day} {moment}" if moment else day

        name = "date"
    else:
        name = "date" if "date" in at else "time"
        column = _column(at, name)

    def read(values: Values) -> tuple[datetime, str]:
        text = column(values)
        try:
            return parse_timestamp(text, tz), text
        except TimestampError as exc:
            raise _FieldError(name, str(exc)) from None

    return read


def _symbols(at: Mapping[str, int], default: str | None) -> Callable[[Values], str]:
    column, fallback = _column(at, "symbol"), default or ""

    def read(values: Values) -> str:
        text = column(values).strip() or fallback
        if not text:
            raise _FieldError("symbol", "no symbol: give a symbol column, a symbol field or a file named after it")
        try:
            return normalise_symbol(text)
        except SymbolError as exc:
            raise _FieldError("symbol", str(exc)) from None

    return read


RowReader = Callable[[Values, int], "Parsed | Rejection"]


def _trades(at: Mapping[str, int], ctx: RowContext) -> RowReader:
    price, size, venue, seq = (_column(at, f) for f in ("price", "size", "venue", "seq"))
    symbol, times = _symbols(at, ctx.symbol), _times(at, ctx.tz)

    def read(values: Values, line: int) -> Parsed | Rejection:
        try:
            number = _count(seq(values), "seq")
            row = TradeRow(symbol(values), _positive(price(values), "price"), _positive(size(values), "size"),
                           times(values)[0], _venue(venue(values)), number)  # fmt: skip
        except _FieldError as exc:
            return Rejection(line, exc.field, str(exc))
        return Parsed(line, "trades", row)

    return read


def _quotes(at: Mapping[str, int], ctx: RowContext) -> RowReader:
    bid, bid_size, ask, ask_size, venue = (_column(at, f) for f in ("bid", "bid_size", "ask", "ask_size", "venue"))
    symbol, times = _symbols(at, ctx.symbol), _times(at, ctx.tz)
    zero = Decimal(0)

    def read(values: Values, line: int) -> Parsed | Rejection:
        try:
            low, high = _positive(bid(values), "bid"), _positive(ask(values), "ask")
            if high < low:
                raise _FieldError("ask", "is below the bid (a crossed quote)")
            sizes = (_amount(bid_size(values), "bid_size") or zero, _amount(ask_size(values), "ask_size") or zero)
            row = QuoteRow(symbol(values), low, sizes[0], high, sizes[1], times(values)[0], _venue(venue(values)))
        except _FieldError as exc:
            return Rejection(line, exc.field, str(exc))
        return Parsed(line, "quotes", row)

    return read


def _bars(at: Mapping[str, int], ctx: RowContext) -> RowReader:
    prices = tuple((f, _column(at, f)) for f in ("open", "high", "low", "close"))
    volume, count, vwap = _column(at, "volume"), _column(at, "trade_count"), _column(at, "vwap")
    symbol, times = _symbols(at, ctx.symbol), _times(at, ctx.tz)
    zero = Decimal(0)

    def read(values: Values, line: int) -> Parsed | Rejection:
        try:
            o, h, lo, c = (_positive(column(values), name) for name, column in prices)
            if h < lo:
                raise _FieldError("high", "is below the low")
            for name, value in (("open", o), ("close", c)):
                if not lo <= value <= h:
                    raise _FieldError(name, "is outside the bar's low-high range")
            trades = _count(count(values), "trade_count") or 0
            ts, text = times(values)
            interval = ctx.interval or ("1d" if len(text.strip()) <= 10 and is_date_only(text) else "1m")
            # A bar may have traded nothing (a halted day); a trade never has size 0.
            row = BarRow(symbol(values), interval, ts, o, h, lo, c, _amount(volume(values), "volume") or zero, trades,
                         0, _amount(vwap(values), "vwap", positive=True))  # fmt: skip
        except _FieldError as exc:
            return Rejection(line, exc.field, str(exc))
        return Parsed(line, "bars", row)

    return read


_READERS: dict[Kind, Callable[[Mapping[str, int], RowContext], RowReader]] = {
    "trades": _trades,
    "quotes": _quotes,
    "bars": _bars,
}


def row_reader(kind: Kind, columns: Sequence[str | None], ctx: RowContext) -> RowReader:
    """One function that reads a row of `columns` (canonical names; None: ignored), compiled once per file."""
    at = {name: i for i, name in enumerate(columns) if name}
    return _READERS[kind](at, ctx)


def parse_fields(kind: Kind, fields: Mapping[str, str], line: int, ctx: RowContext) -> Parsed | Rejection:
    """One row's canonical fields -> the record, or a rejection naming the field."""
    return row_reader(kind, tuple(fields), ctx)(list(fields.values()), line)


def read_csv(rows: Iterable[Sequence[str]], ctx: RowContext, kind: Kind | None = None) -> Iterator[Parsed | Rejection]:
    """Parse csv.reader rows (the header first) one at a time: a row is never held after it is yielded.

    Line numbers count rows as the reader returns them, header = 1 (a quoted field with a newline
    keeps its row's number). Raises LayoutError for a header that cannot be read.
    """
    iterator = iter(rows)
    header = next(iterator, None)
    if header is None:
        raise LayoutError(Rejection(1, "header", "the file is empty"))
    layout = Layout.from_header(header, kind)
    read = row_reader(layout.kind, layout.columns, ctx)
    width = len(header)
    for line, values in enumerate(iterator, start=2):
        if len(values) == width:
            yield read(values, line)
        elif not values or (len(values) == 1 and not values[0].strip()):
            continue  # blank line
        else:
            yield Rejection(line, "row", f"has {len(values)} fields; the header has {width}")


def _text(value: Any) -> str:
    if isinstance(value, bool | dict | list):
        raise TypeError
    return "" if value is None else str(value)


def read_items(items: Sequence[Any], kind: Kind, ctx: RowContext) -> Iterator[Parsed | Rejection]:
    """Parse the objects of one JSON section (`trades`, `quotes`, `bars`); `line` is the item's number (1-based)."""
    table, ignored = _LOOKUP[kind], _IGNORED[kind]
    readers: dict[tuple[str, ...], RowReader] = {}  # items of one section mostly share their keys
    for line, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            yield Rejection(line, kind, "must be an object")
            continue
        fields: dict[str, str] = {}
        bad: Rejection | None = None
        for key, value in item.items():
            name = fold_name(str(key))
            canon = table.get(name)
            if canon is None and name not in ignored:
                bad = Rejection(line, str(key)[:40], f"unknown field for {kind}")
                break
            if canon in fields:
                bad = Rejection(line, canon, "is given twice (under two spellings)")
                break
            try:
                if canon:
                    fields[canon] = _text(value)
            except TypeError:
                bad = Rejection(line, canon or str(key), "must be a string or a number")
                break
        if bad is not None:
            yield bad
            continue
        names = tuple(fields)
        read = readers.get(names)
        if read is None:
            read = readers[names] = row_reader(kind, names, ctx)
        yield read(list(fields.values()), line)
