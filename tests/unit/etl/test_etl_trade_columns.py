"""The columnar trade path gives what the row path gives: the same events (ids, bytes, lines, order) and the
same report (accepted, rejections with line, field and reason, notices), on generated files mixing plain rows
with every kind of value the plain tests let through to the row readers, across block boundaries."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tp_etl import trade_columns
from tp_etl.cleaning import Cleaner, CleaningRules
from tp_etl.formats import RowContext, read_csv
from tp_etl.pipeline import events
from tp_etl.report import IngestReport
from tp_etl.trade_columns import file_events

PRICES = ["190.00", "190", "190.5", "0190.5", "190.50", "0", "0.00", "-1", "1E+2", "100", " 190.5", "1.123456789",
          "12345678901.5", "abc", "", "0.5", "0.00000001", "1E-8", "9999999999.99999999",
          "9999999999.999999990", "0.000001", "0.0000010"]  # fmt: skip
SIZES = ["100", "100.0", "007", "1", "0", "5.5", ""]
TIMES = ["2026-11-24T14:30:00Z", "2026-11-24T14:30:00.053Z", "2026-11-24T14:30:00.5", "2026-11-24T14:29:59.999999Z",
         "2026-11-24 14:30:01",
         "2026-11-24T14:30:00+01:00", "1700000000", "2026-02-30T00:00:00Z", "1969-12-31T23:59:59Z",
         "2026-11-24T14:31:00.1234567Z", "2030-01-01T00:00:00Z", "", "soon"]  # fmt: skip
SYMBOLS = ["AAPL", "msft", " AAPL", "$nvda", "brk/b", "", "BAD SYMBOL!!", "AAPL"]
VENUES = ["N", "", " Q ", "ÄX", 'a"b', "x" * 17, "V"]
SEQS = ["", "1", "007", "12", "x", "99999999999999999999"]


def _value(values: list[str]) -> st.SearchStrategy[str]:
    """Mostly the first (plain) few, so whole rows are often plain and one odd value decides the path."""
    return st.one_of(st.sampled_from(values[:4]), st.sampled_from(values))


row = st.tuples(*(_value(v) for v in (TIMES, SYMBOLS, PRICES, SIZES, VENUES, SEQS)))
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def csv_bytes(rows: list[tuple[str, ...]], extra: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["timestamp", "symbol", "price", "size", "exchange", "seq"])
    writer.writerows(rows)
    return (out.getvalue() + extra).encode()


def both(body: bytes, ctx: RowContext, rules: CleaningRules) -> tuple[Any, Any]:
    args = {"identity": "s3://b/k#e", "producer": "ingest_s3", "correlation_id": "c-1"}
    old_report, new_report = IngestReport("feed"), IngestReport("feed")
    text = io.StringIO(body.decode("utf-8-sig"), newline="")
    rows = read_csv(csv.reader(text), ctx)
    old = [(o.id, o.key, o.value, o.line) for o in events(rows, Cleaner(rules), old_report, **args)]
    new = [(o.id, o.key, o.value, o.line) for o in file_events(io.BytesIO(body), ctx, None, rules, new_report, **args)]
    return (old, old_report.as_dict()), (new, new_report.as_dict())


@settings(max_examples=120, deadline=None)
@given(rows=st.lists(row, max_size=40), repeat=st.booleans(), extra=st.sampled_from(["", "\n", "\n\nA,B\n"]),
       block=st.sampled_from([64, 300, 1 << 20]), zone=st.sampled_from(["UTC", "America/New_York"]),
       window=st.sampled_from([3, 100_000]))  # fmt: skip
def test_the_columnar_path_agrees_with_the_row_path(
    rows: list[tuple[str, ...]], repeat: bool, extra: str, block: int, zone: str, window: int
) -> None:
    rows = rows + rows[: len(rows) // 2] if repeat else rows  # repeated blocks: duplicates, out of order
    ctx = RowContext(symbol="IBM", tz=ZoneInfo(zone))
    rules = CleaningRules(not_after=NOW + timedelta(minutes=5), window=window)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trade_columns, "BLOCK_BYTES", block)
        old, new = both(csv_bytes(rows, extra), ctx, rules)
    assert new == old


def test_plain_rows_take_the_columnar_path_and_quotes_in_a_block_the_row_path() -> None:
    plain = csv_bytes([("2026-11-24T14:30:00.053Z", "AAPL", "190.5", "10", "N", "1")] * 2, "")
    quoted = plain + b'2026-11-24T14:30:01Z,"AAPL",190.5,10,N,2\n'
    for body, accepted in ((plain, 1), (quoted, 2)):
        old, new = both(body, RowContext(), CleaningRules())
        assert new == old
        assert new[1]["accepted"] == accepted and new[1]["dropped"] == 1
    with pytest.raises(Exception, match="header"):
        list(file_events(io.BytesIO(b"when,what\n1,2\n"), RowContext(), None, CleaningRules(), IngestReport("f"),
                         identity="i", producer="p", correlation_id=None))  # fmt: skip


# Plain rows only, so that blocks are cleaned as a whole unless a rule applies: repeated rows (duplicates in the
# block or of an earlier block, within the window or beyond it), a symbol's time going back (in a block or
# against an earlier one), times after not_after, few symbols or many.
PLAIN_TIMES = [f"2026-11-24T14:30:{s:02d}.{f}Z" for s in (0, 1, 2) for f in ("1", "25", "5")]


@st.composite
def plain_file(draw: st.DrawFn) -> list[tuple[str, ...]]:
    symbols = draw(st.sampled_from([["AAPL"], ["AAPL", "MSFT"], [f"S{i}" for i in range(12)]]))
    count = draw(st.integers(1, 60))
    ordered = draw(st.booleans())
    rows = []
    for i in range(count):
        when = PLAIN_TIMES[min(i * len(PLAIN_TIMES) // count, len(PLAIN_TIMES) - 1)] if ordered else None
        rows.append((when or draw(st.sampled_from([*PLAIN_TIMES, "2030-01-01T00:00:00Z"])),
                     draw(st.sampled_from(symbols)), draw(st.sampled_from(["190.5", "191", "190.25"])),
                     str(draw(st.integers(1, 3))), "V", str(i)))  # fmt: skip
    for _ in range(draw(st.integers(0, 3))):  # an earlier row again: an exact duplicate, often near the window's edge
        at = draw(st.integers(0, len(rows) - 1))
        distance = draw(st.one_of(st.integers(1, 7), st.integers(1, len(rows) - at)))
        rows.insert(min(at + distance, len(rows)), rows[at])
    return rows


@settings(max_examples=150, deadline=None)
@given(rows=plain_file(), block=st.sampled_from([60, 200, 700, 1 << 20]), window=st.sampled_from([2, 5, 100_000]),
       late=st.booleans())  # fmt: skip
def test_whole_blocks_are_cleaned_as_the_row_path_cleans_them(
    rows: list[tuple[str, ...]], block: int, window: int, late: bool
) -> None:
    rules = CleaningRules(not_after=NOW + timedelta(minutes=5) if late else None, window=window)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trade_columns, "BLOCK_BYTES", block)
        old, new = both(csv_bytes(rows, ""), RowContext(), rules)
    assert new == old


def _plain_rows(count: int, start: int = 0) -> list[tuple[str, ...]]:
    at = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
    return [((at + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), ("AAPL", "MSFT")[i % 2],
             f"{190 + i % 7}.5", "10", "V", str(i)) for i in range(start, start + count)]  # fmt: skip


def test_a_clean_file_takes_the_whole_block_path_and_an_anomaly_sends_only_its_block_row_by_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trade_columns, "BLOCK_BYTES", 1000)  # ~20 rows a block
    whole, by_row = [0], [0]
    plain, emit = trade_columns._TradeFile._plain_block, trade_columns._TradeFile._emit
    monkeypatch.setattr(trade_columns._TradeFile, "_plain_block", lambda self, *a: _count(whole, plain(self, *a)))
    monkeypatch.setattr(trade_columns._TradeFile, "_emit", lambda self, *a: _count(by_row, emit(self, *a), True))
    rows = _plain_rows(200)
    old, new = both(csv_bytes(rows, ""), RowContext(), CleaningRules())
    assert new == old and new[1]["accepted"] == 200 and by_row == [0] and whole[0] >= 10
    # a row of an earlier block again, and one of MSFT's times going back: two blocks row by row, the rest whole
    rows.insert(150, rows[20])
    rows.insert(100, (*rows[98][:1], "MSFT", *rows[98][2:5], "9999"))
    whole[0] = 0
    old, new = both(csv_bytes(rows, ""), RowContext(), CleaningRules())
    assert new == old and new[1]["dropped"] == 1 and new[1]["out_of_order"] == 1
    assert by_row == [2] and whole[0] >= 8


def _count(counter: list[int], result: Any, always: bool = False) -> Any:
    counter[0] += 1 if always or result is not None else 0
    return result
