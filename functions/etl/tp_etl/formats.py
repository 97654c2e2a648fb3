"""Rows of market data files and requests, read into contract models (`Tick`, `Quote`, `Bar`).

Three kinds, told apart by their columns: OHLCV bars (open, high, low, close),
quotes (bid, ask) and trades (price). Column names are matched after folding
case, spaces and dashes, against the spellings vendors use (`Adj Close` is
known and ignored; a column nobody knows is refused, naming it). A row either
parses into one model or yields a `Rejection` naming its line and field; this
module never drops anything itself (cleaning rules are in `tp_etl.cleaning`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from tradeplane.contracts.market import Bar, Quote, Tick

from tp_etl.symbols import SymbolError, normalise_symbol
from tp_etl.timestamps import TimestampError, is_date_only, parse_timestamp

Kind = Literal["bars", "trades", "quotes"]
KINDS: tuple[Kind, ...] = ("bars", "trades", "quotes")
Record = Tick | Quote | Bar

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


@dataclass(frozen=True, slots=True)
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

    def fields(self, values: Sequence[str]) -> dict[str, str]:
        return {canon: value for canon, value in zip(self.columns, values, strict=False) if canon}


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


def _decimal(fields: Mapping[str, str], name: str, *, positive: bool, required: bool = True) -> Decimal | None:
    text = (fields.get(name) or "").strip()
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


def _positive(fields: Mapping[str, str], name: str) -> Decimal:
    value = _decimal(fields, name, positive=True)
    assert value is not None  # required fields raise instead
    return value


def _timestamp(fields: Mapping[str, str], ctx: RowContext) -> tuple[datetime, bool]:
    """The row's time (UTC) and whether it was a date alone."""
    if "ts" in fields:
        text, name = fields["ts"], "timestamp"
    elif "date" in fields and fields.get("time"):
        text, name = f"{fields['date'].strip()} {fields['time'].strip()}", "date"
    else:
        text = fields.get("date") or fields.get("time") or ""
        name = "date" if "date" in fields else "time" if "time" in fields else "timestamp"
    try:
        return parse_timestamp(text, ctx.tz), len(text) <= 10 and is_date_only(text)
    except TimestampError as exc:
        raise _FieldError(name, str(exc)) from None


def _symbol(fields: Mapping[str, str], ctx: RowContext) -> str:
    text = (fields.get("symbol") or "").strip() or ctx.symbol
    if not text:
        raise _FieldError("symbol", "no symbol: give a symbol column, a symbol field or a file named after it")
    try:
        return normalise_symbol(text)
    except SymbolError as exc:
        raise _FieldError("symbol", str(exc)) from None


def _venue(fields: Mapping[str, str]) -> str | None:
    venue = (fields.get("venue") or "").strip()
    if len(venue) > 16:
        raise _FieldError("venue", "is longer than 16 characters")
    return venue or None


def _trade(fields: Mapping[str, str], ctx: RowContext) -> Tick:
    seq_text = (fields.get("seq") or "").strip()
    if seq_text and not seq_text.isdigit():
        raise _FieldError("seq", "must be a non-negative integer")
    return Tick.model_construct(
        symbol=_symbol(fields, ctx),
        price=_positive(fields, "price"),
        size=_positive(fields, "size"),
        ts=_timestamp(fields, ctx)[0],
        venue=_venue(fields),
        seq=int(seq_text) if seq_text else None,
    )


def _quote(fields: Mapping[str, str], ctx: RowContext) -> Quote:
    bid, ask = _positive(fields, "bid"), _positive(fields, "ask")
    if ask < bid:
        raise _FieldError("ask", "is below the bid (a crossed quote)")
    return Quote.model_construct(
        symbol=_symbol(fields, ctx),
        bid=bid,
        bid_size=_decimal(fields, "bid_size", positive=False, required=False) or Decimal(0),
        ask=ask,
        ask_size=_decimal(fields, "ask_size", positive=False, required=False) or Decimal(0),
        ts=_timestamp(fields, ctx)[0],
        venue=_venue(fields),
    )


def _bar(fields: Mapping[str, str], ctx: RowContext) -> Bar:
    o, h, lo, c = (_positive(fields, f) for f in ("open", "high", "low", "close"))
    if h < lo:
        raise _FieldError("high", "is below the low")
    for name, value in (("open", o), ("close", c)):
        if not lo <= value <= h:
            raise _FieldError(name, "is outside the bar's low-high range")
    count_text = (fields.get("trade_count") or "").strip()
    if count_text and not count_text.isdigit():
        raise _FieldError("trade_count", "must be a non-negative integer")
    ts, date_only = _timestamp(fields, ctx)
    return Bar.model_construct(
        symbol=_symbol(fields, ctx),
        interval=ctx.interval or ("1d" if date_only else "1m"),
        bucket_start=ts,
        open=o,
        high=h,
        low=lo,
        close=c,
        # A bar may have traded nothing (a halted day); a trade never has size 0.
        volume=_decimal(fields, "volume", positive=False, required=False) or Decimal(0),
        trade_count=int(count_text) if count_text else 0,
        revision=0,
    )


_BUILD: dict[Kind, Callable[[Mapping[str, str], RowContext], Record]] = {
    "trades": _trade,
    "quotes": _quote,
    "bars": _bar,
}


def parse_fields(kind: Kind, fields: Mapping[str, str], line: int, ctx: RowContext) -> Parsed | Rejection:
    """One row's canonical fields -> the record, or a rejection naming the field."""
    try:
        return Parsed(line, kind, _BUILD[kind](fields, ctx))
    except _FieldError as exc:
        return Rejection(line, exc.field, str(exc))


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
    width = len(header)
    for line, values in enumerate(iterator, start=2):
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # blank line
        if len(values) != width:
            yield Rejection(line, "row", f"has {len(values)} fields; the header has {width}")
            continue
        yield parse_fields(layout.kind, layout.fields(values), line, ctx)


def _text(value: Any) -> str:
    if isinstance(value, bool | dict | list):
        raise TypeError
    return "" if value is None else str(value)


def read_items(items: Sequence[Any], kind: Kind, ctx: RowContext) -> Iterator[Parsed | Rejection]:
    """Parse the objects of one JSON section (`trades`, `quotes`, `bars`); `line` is the item's number (1-based)."""
    table, ignored = _LOOKUP[kind], _IGNORED[kind]
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
        yield bad or parse_fields(kind, fields, line, ctx)
