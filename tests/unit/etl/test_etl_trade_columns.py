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
          "12345678901.5", "abc", "", "0.5"]  # fmt: skip
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
