"""Cleaning rules, each on its own, then their invariants under generated input (hypothesis)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from tp_etl.cleaning import Clean, Cleaner, CleaningRules, Notice
from tp_etl.formats import Parsed, Rejection, RowContext, read_csv
from tp_etl.pipeline import cleaned, events
from tp_etl.report import IngestReport
from tp_etl.rows import BarRow, QuoteRow, TradeRow
from tradeplane.contracts.market import Tick

T0 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


def trade(line: int, price: str, *, seconds: int = 0, symbol: str = "AAPL", size: str = "1") -> Parsed:
    tick = Tick(symbol=symbol, price=Decimal(price), size=Decimal(size), ts=T0 + timedelta(seconds=seconds))
    return Parsed(line, "trades", TradeRow(**tick.model_dump()))


def run(rows: list[Parsed | Rejection], rules: CleaningRules | None = None) -> tuple[list[Clean], IngestReport]:
    report = IngestReport("feed")
    return list(cleaned(rows, Cleaner(rules or CleaningRules()), report)), report


def test_exact_duplicates_are_dropped_and_reported_with_the_first_line() -> None:
    out, report = run([trade(2, "10"), trade(3, "10"), trade(4, "10", size="2")])
    assert [c.line for c in out] == [2, 4]
    assert report.dropped == 1 and report.notices == [Notice(3, "duplicate", "exact duplicate of line 2", True)]


def test_out_of_order_rows_are_kept_and_reported() -> None:
    out, report = run([trade(2, "10", seconds=5), trade(3, "10", seconds=1), trade(4, "10", seconds=6, symbol="MSFT")])
    assert [c.line for c in out] == [2, 3, 4]
    assert report.out_of_order == 1 and report.notices[0].rule == "out_of_order" and report.notices[0].line == 3


def test_outliers_are_flagged_by_default_and_do_not_move_the_reference() -> None:
    rows: list[Parsed | Rejection] = [trade(2, "100"), trade(3, "150", seconds=1), trade(4, "104", seconds=2)]
    out, report = run(rows, CleaningRules(max_jump=Decimal("0.2")))
    assert [(c.line, c.flags) for c in out] == [(2, ()), (3, ("outlier",)), (4, ())]
    assert report.flagged == 1 and report.notices[0].line == 3


def test_outliers_can_be_dropped() -> None:
    out, report = run(
        [trade(2, "100"), trade(3, "50", seconds=1)], CleaningRules(max_jump=Decimal("0.2"), outliers="drop")
    )
    assert [c.line for c in out] == [2] and report.dropped == 1 and report.notices[0].rule == "outlier"


def test_without_a_jump_limit_nothing_is_an_outlier() -> None:
    out, report = run([trade(2, "100"), trade(3, "1000", seconds=1)])
    assert len(out) == 2 and report.flagged == 0


def test_times_after_the_limit_are_rejected() -> None:
    out, report = run([trade(2, "10", seconds=10)], CleaningRules(not_after=T0))
    assert out == [] and report.rejected == 1 and report.rejections[0].field == "timestamp"


def test_a_file_of_only_bad_rows_produces_no_events() -> None:
    text = "timestamp,symbol,price,size\nx,AAPL,1,1\n2026-11-24T14:30:00Z,AAPL,-1,1\n2026-11-24T14:30:00Z,AAPL,1,0\n"
    report = IngestReport("feed")
    out = list(events(read_csv(csv.reader(io.StringIO(text)), RowContext()), Cleaner(), report, identity="f",
                      producer="p", correlation_id=None))  # fmt: skip
    assert out == [] and report.rejected == 3 and [r.line for r in report.rejections] == [2, 3, 4]


def test_event_ids_come_from_source_identity_and_line() -> None:
    text = "timestamp,symbol,price,size\n2026-11-24T14:30:00Z,AAPL,1,1\n2026-11-24T14:30:01Z,MSFT,2,1\n"

    def ids(identity: str) -> list[str]:
        rows = read_csv(csv.reader(io.StringIO(text)), RowContext())
        return [e.envelope.id for e in events(rows, Cleaner(), IngestReport("f"), identity=identity, producer="p",
                                              correlation_id=None)]  # fmt: skip

    assert ids("s3://b/k#1") == ids("s3://b/k#1")
    assert ids("s3://b/k#1") != ids("s3://b/k#2")
    assert len(set(ids("s3://b/k#1"))) == 2


# --------------------------------------------------------------------------- properties

prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000"), places=2)
rows_strategy = st.lists(
    st.tuples(st.sampled_from(["AAPL", "MSFT"]), prices, st.integers(0, 600), st.integers(1, 500)),
    min_size=0,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(rows_strategy, st.sampled_from([None, Decimal("0.05"), Decimal("0.5")]), st.sampled_from(["flag", "drop"]))
def test_every_row_is_accounted_for_exactly_once(rows: list[tuple[str, Decimal, int, int]], jump: Decimal | None,
                                                  action: str) -> None:  # fmt: skip
    parsed: list[Parsed | Rejection] = [
        trade(i + 2, str(p), seconds=s, symbol=sym, size=str(n)) for i, (sym, p, s, n) in enumerate(rows)
    ]
    out, report = run(parsed, CleaningRules(max_jump=jump, outliers=action))  # type: ignore[arg-type]
    # accepted + dropped + rejected = every row; no line accepted twice; no row invented
    assert report.total_accepted + report.dropped + report.rejected == len(rows)
    assert len({c.line for c in out}) == len(out) == report.total_accepted
    # no two accepted rows are exact duplicates
    assert len({(c.record.symbol, c.record.ts, c.record.price, c.record.size) for c in out}) == len(out)  # type: ignore[union-attr]
    if action == "drop" or jump is None:
        assert all(not c.flags for c in out)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(prices, prices, prices, prices), min_size=1, max_size=20))
def test_accepted_bars_always_satisfy_low_le_open_close_le_high(values: list[tuple[Decimal, ...]]) -> None:
    lines = [
        f"2026-11-{1 + i % 28:02d}T14:{i % 60:02d}:00Z,AAPL,{o},{h},{lo},{c},1"
        for i, (o, h, lo, c) in enumerate(values)
    ]
    text = "timestamp,symbol,open,high,low,close,volume\n" + "\n".join(lines) + "\n"
    report = IngestReport("f")
    for row in cleaned(read_csv(csv.reader(io.StringIO(text)), RowContext()), Cleaner(), report):
        bar = row.record
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high  # type: ignore[union-attr]
    expected_bad = sum(1 for o, h, lo, c in values if not (lo <= min(o, c) and max(o, c) <= h))
    assert report.rejected == expected_bad


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["trades", "quotes", "bars"]),
    prices,
    st.integers(0, 10**9),
    st.sampled_from([None, "c-1", "ü"]),
    st.booleans(),
    st.sampled_from([None, "V", 'x"\\é\n']),
)
def test_row_envelope_json_is_the_generic_envelope_json(kind: str, price: Decimal, seconds: int,
                                                        correlation: str | None, flagged: bool,
                                                        venue: str | None) -> None:  # fmt: skip
    from tp_etl.source_events import source_event_id, to_event
    from tradeplane.contracts.market import Bar, Quote
    from tradeplane.envelope import Envelope, kafka_headers

    ts = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=seconds % 999_983)
    model = {
        "trades": Tick(symbol="BRK.B", price=price, size=Decimal("0.5"), ts=ts, venue=venue, seq=seconds),
        "quotes": Quote(
            symbol="A", bid=price, bid_size=Decimal(0), ask=price + 1, ask_size=Decimal(3), ts=ts, venue=venue
        ),
        "bars": Bar(
            symbol="A",
            interval="1d",
            bucket_start=ts,
            open=price,
            high=price,
            low=price,
            close=price,
            volume=Decimal(0),
            trade_count=0,
        ),
    }[kind]
    row = {"trades": TradeRow, "quotes": QuoteRow, "bars": BarRow}[kind](**model.model_dump())  # type: ignore[operator]
    event = to_event(Clean(7, kind, row, ("outlier",) if flagged else ()), identity="i", source="s",
                     producer="p", correlation_id=correlation)  # fmt: skip
    data = {**model.model_dump(), "source": "s", **({"flags": ["outlier"]} if flagged else {})}
    generic = Envelope.new(event.type, data, producer="p", correlation_id=correlation,
                           id=source_event_id(event.id.partition("_")[0], "i", kind, 7),
                           occurred_at=ts)  # fmt: skip
    assert event.value == generic.to_json()  # the bytes written without a model are the generic envelope's
    assert event.id == generic.id and event.key == model.symbol
    assert event.headers() == kafka_headers(generic)
