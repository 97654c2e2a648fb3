"""Readers of bar, trade and quote rows: column spellings, timestamp formats, symbols, and each refusal."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tp_etl.formats import Layout, LayoutError, Parsed, Rejection, RowContext, detect_kind, read_csv, read_items
from tp_etl.rows import BarRow, QuoteRow, TradeRow
from tp_etl.symbols import SymbolError, normalise_symbol, symbol_from_filename
from tp_etl.timestamps import TimestampError, parse_timestamp
from tradeplane.contracts.market import Bar, Quote, Tick


def rows(text: str, ctx: RowContext | None = None) -> list[Parsed | Rejection]:
    return list(read_csv(csv.reader(io.StringIO(text)), ctx or RowContext()))


def only(text: str, ctx: RowContext | None = None) -> Parsed:
    (row,) = rows(text, ctx)
    assert isinstance(row, Parsed), row
    return row


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T14:30:01Z", datetime(2026, 11, 24, 14, 30, 1, tzinfo=UTC)),
        ("2026-11-24T09:30:01-05:00", datetime(2026, 11, 24, 14, 30, 1, tzinfo=UTC)),
        ("2026-11-24 14:30:01.250", datetime(2026, 11, 24, 14, 30, 1, 250_000, tzinfo=UTC)),
        ("2026-11-24", datetime(2026, 11, 24, tzinfo=UTC)),
        ("20261124", datetime(2026, 11, 24, tzinfo=UTC)),
        ("11/24/2026", datetime(2026, 11, 24, tzinfo=UTC)),
        ("2026/11/24", datetime(2026, 11, 24, tzinfo=UTC)),
        ("24.11.2026", datetime(2026, 11, 24, tzinfo=UTC)),
        ("11/24/2026 14:30", datetime(2026, 11, 24, 14, 30, tzinfo=UTC)),
        ("1795530601", datetime(2026, 11, 24, 14, 30, 1, tzinfo=UTC)),
        ("1795530601500", datetime(2026, 11, 24, 14, 30, 1, 500_000, tzinfo=UTC)),
        ("1795530601500000", datetime(2026, 11, 24, 14, 30, 1, 500_000, tzinfo=UTC)),
        ("1795530601500000000", datetime(2026, 11, 24, 14, 30, 1, 500_000, tzinfo=UTC)),
    ],
)
def test_timestamps_in_every_accepted_format_become_utc(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


def test_naive_times_are_read_in_the_sources_zone() -> None:
    ny = ZoneInfo("America/New_York")
    assert parse_timestamp("2026-11-24 09:30:00", ny) == datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
    assert parse_timestamp("2026-11-24T09:30:00Z", ny) == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # offset wins


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "1969-12-31T23:59:59Z", "31/12/2026", "12:00"])
def test_unreadable_timestamps_are_refused(text: str) -> None:
    with pytest.raises(TimestampError):
        parse_timestamp(text)


def test_symbols_are_normalised_and_found_in_file_names() -> None:
    assert normalise_symbol(" brk/b ") == "BRK.B"
    assert normalise_symbol("$aapl") == "AAPL"
    with pytest.raises(SymbolError):
        normalise_symbol("1abc")
    with pytest.raises(SymbolError):
        normalise_symbol("A" * 17)
    assert symbol_from_filename("raw/vendor/aapl_1min.csv.gz") == "AAPL"
    assert symbol_from_filename("raw/MSFT.csv") == "MSFT"
    assert symbol_from_filename("raw/2026-11-24.csv") is None


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Date,Open,High,Low,Close,Adj Close,Volume", "bars"),  # Yahoo
        ("timestamp,open,high,low,close,volume,trade_count,vwap", "bars"),  # Alpaca
        ("<TICKER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>", "bars"),  # MetaStock style
        ("t,o,h,l,c,v,n,vw", "bars"),
        ("timestamp,symbol,price,size,exchange,sequence", "trades"),
        ("t,p,s,x,i,c,z", "trades"),
        ("time,bid,bid_size,ask,ask_size", "quotes"),
        ("t,bp,bs,ap,as,bx,ax", "quotes"),
    ],
)
def test_kind_and_columns_from_common_headers(header: str, kind: str) -> None:
    names = header.split(",")
    assert detect_kind(names) == kind
    layout = Layout.from_header(names)
    assert layout.kind == kind


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("timestamp,price,size,colour", "colour"),
        ("timestamp,price,price,size", "price"),
        ("price,size", "timestamp"),
        ("timestamp,foo,bar", "header"),
    ],
)
def test_header_problems_name_the_column(header: str, field: str) -> None:
    with pytest.raises(LayoutError) as err:
        rows(header + "\n")
    assert err.value.rejection.line == 1 and field in err.value.rejection.field


def test_empty_file_is_a_layout_error() -> None:
    with pytest.raises(LayoutError, match="empty"):
        rows("")


def test_bar_row_with_date_is_a_daily_bar_and_symbol_comes_from_context() -> None:
    row = only(
        "Date,Open,High,Low,Close,Adj Close,Volume\n2026-11-24,10,12.5,9.75,11,10.9,1200\n", RowContext(symbol="aapl")
    )
    bar = row.record
    assert isinstance(bar, BarRow) and row.line == 2
    assert (bar.symbol, bar.interval, bar.bucket_start) == ("AAPL", "1d", datetime(2026, 11, 24, tzinfo=UTC))
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        Decimal(10), Decimal("12.5"), Decimal("9.75"), Decimal(11), Decimal(1200))  # fmt: skip
    assert bar.vwap is None  # no VWAP column: unknown
    assert Bar.model_validate(bar._asdict()) == bar.contract()  # the reader's checks agree with the contract's


def test_bar_row_with_separate_date_and_time_columns() -> None:
    row = only("<TICKER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>\nmsft,20261124,14:31:00,1,2,1,2,10\n")
    assert isinstance(row.record, BarRow)
    assert row.record.bucket_start == datetime(2026, 11, 24, 14, 31, tzinfo=UTC) and row.record.interval == "1m"
    assert row.record.symbol == "MSFT"


def test_trade_and_quote_rows() -> None:
    trade = only("t,p,s,x,i,c\n2026-11-24T14:30:01Z,190.10,5,V,42,@\n", RowContext(symbol="AAPL")).record
    assert isinstance(trade, TradeRow)
    assert (trade.price, trade.size, trade.venue, trade.seq) == (Decimal("190.10"), Decimal(5), "V", 42)
    assert Tick.model_validate(trade._asdict()) == trade.contract()
    quote = only("timestamp,symbol,bid,bid_size,ask,ask_size\n2026-11-24T14:30:01Z,aapl,190.1,3,190.2,\n").record
    assert isinstance(quote, QuoteRow)
    assert (quote.bid, quote.bid_size, quote.ask, quote.ask_size) == (Decimal("190.1"), 3, Decimal("190.2"), 0)
    assert Quote.model_validate(quote._asdict()) == quote.contract()


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("2026-11-24T14:30:01Z,AAPL,0,5", "price", "positive"),
        ("2026-11-24T14:30:01Z,AAPL,-1,5", "price", "positive"),
        ("2026-11-24T14:30:01Z,AAPL,10,0", "size", "positive"),
        ("2026-11-24T14:30:01Z,AAPL,abc,5", "price", "not a number"),
        ("2026-11-24T14:30:01Z,AAPL,NaN,5", "price", "finite"),
        ("2026-11-24T14:30:01Z,AAPL,1.123456789,5", "price", "decimal places"),
        ("2026-11-24T14:30:01Z,AAPL,1234567890123456789,5", "price", "digits"),
        ("2026-11-24T14:30:01Z,AAPL,,5", "price", "empty"),
        ("nope,AAPL,10,5", "timestamp", "accepted format"),
        ("2026-11-24T14:30:01Z,,10,5", "symbol", "no symbol"),
        ("2026-11-24T14:30:01Z,12AB,10,5", "symbol", "not a symbol"),
        ("2026-11-24T14:30:01Z,AAPL,10", "row", "3 fields"),
    ],
)
def test_bad_trade_rows_are_rejected_with_line_and_field(row: str, field: str, reason: str) -> None:
    (got,) = rows("timestamp,symbol,price,size\n" + row + "\n")
    assert isinstance(got, Rejection)
    assert (got.line, got.field) == (2, field) and reason in got.reason


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ("10,9,11,10", "high"),  # high below low
        ("13,12,9,11", "open"),  # open above high
        ("10,12,9,8", "close"),  # close below low
        ("10,12,0,11", "low"),  # non-positive
    ],
)
def test_bar_consistency_rules(values: str, field: str) -> None:
    (got,) = rows("timestamp,symbol,open,high,low,close,volume\n2026-11-24T14:30:00Z,AAPL," + values + ",1\n")
    assert isinstance(got, Rejection) and got.field == field


def test_crossed_quote_is_rejected() -> None:
    (got,) = rows("t,bp,bs,ap,as\n2026-11-24T14:30:00Z,10.2,1,10.1,1\n", RowContext(symbol="AAPL"))
    assert isinstance(got, Rejection) and got.field == "ask"


def test_line_numbers_count_quoted_newlines_as_one_row_and_skip_blank_lines() -> None:
    text = (
        'timestamp,symbol,price,size,exchange\n2026-11-24T14:30:00Z,AAPL,1,1,"V"\n\n'
        '2026-11-24T14:30:01Z,AAPL,0,1,"a\nb"\n'
    )
    got = rows(text)
    assert isinstance(got[0], Parsed) and got[0].line == 2
    assert isinstance(got[1], Rejection) and got[1].line == 4 and got[1].field == "price"


def test_json_items_use_the_same_spellings_and_refuse_unknown_fields() -> None:
    items = [
        {"t": "2026-11-24T14:30:00Z", "p": Decimal("1.5"), "s": 2},
        {"ts": "2026-11-24T14:30:00Z", "price": "1", "size": "1", "colour": "red"},
        {"ts": "2026-11-24T14:30:00Z", "price": True, "size": "1"},
        "not an object",
    ]
    got = list(read_items(items, "trades", RowContext(symbol="AAPL")))
    assert isinstance(got[0], Parsed) and got[0].record.price == Decimal("1.5")  # type: ignore[union-attr]
    assert [(r.line, r.field) for r in got[1:] if isinstance(r, Rejection)] == [
        (2, "colour"),
        (3, "price"),
        (4, "trades"),
    ]


def test_row_tuples_have_the_contract_models_fields_in_order() -> None:
    # The rows mirror the contracts on purpose (typed tuples, no model per tick); this keeps them from drifting.
    for row, model in ((TradeRow, Tick), (QuoteRow, Quote), (BarRow, Bar)):
        assert row._fields == tuple(model.model_fields), row.__name__
