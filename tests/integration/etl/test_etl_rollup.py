"""Bars against the real Postgres: exactly-once application, closing, revisions, rollback on publish failure."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row
from tp_etl import bar_store
from tp_etl.bars import PartialBar
from tp_etl.rollup import close_quiet, roll_up
from tradeplane.contracts.market import Tick
from tradeplane.envelope import Envelope
from tradeplane_tools.migrate import apply_migrations

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dsn(pg_dsn: str) -> str:
    apply_migrations(pg_dsn)
    return pg_dsn


@pytest.fixture
def conn(dsn: str) -> Iterator[psycopg.Connection]:  # type: ignore[type-arg]
    with psycopg.connect(dsn, row_factory=dict_row) as c:
        c.execute("truncate market.bars, ops.inbox")
        c.commit()
        yield c


class Sink:
    def __init__(self) -> None:
        self.published: list[Envelope] = []
        self.fail = False

    def publish(self, topic: str, items: Iterable[tuple[str, Envelope]]) -> int:
        batch = [env for _, env in items]
        self.published.extend(batch)
        return len(batch)

    def flush(self) -> None:
        if self.fail:
            raise RuntimeError("broker unavailable")


def t(eid: str, price: str, ts: str, symbol: str = "AAPL", size: str = "1") -> tuple[str, Tick]:
    return eid, Tick.model_validate({"symbol": symbol, "price": price, "size": size, "ts": f"2026-11-24T{ts}Z"})


def run(conn, ticks, sink: Sink):  # type: ignore[no-untyped-def]
    with conn.transaction():
        return roll_up(
            conn, ticks, consumer="agg", producer="agg", correlation_id="c", publish=sink.publish, flush=sink.flush
        )


def bars(conn) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return conn.execute("select * from market.bars order by symbol, bucket_start").fetchall()


def test_batch_applies_once_and_closes_earlier_minutes(conn) -> None:  # type: ignore[no-untyped-def]
    sink = Sink()
    ticks = [t("a", "10", "10:00:01"), t("b", "12", "10:00:30"), t("c", "11", "10:01:05")]
    result = run(conn, ticks, sink)
    assert result.applied == 3 and [b.bucket_start.minute for b in result.published] == [0]
    again = run(conn, ticks, sink)  # redelivery of the same batch
    assert again.applied == 0 and again.duplicates == 3 and again.published == []
    rows = bars(conn)
    assert [(r["open"], r["high"], r["close"], r["trade_count"], r["closed"]) for r in rows] == [
        (Decimal(10), Decimal(12), Decimal(12), 2, True),
        (Decimal(11), Decimal(11), Decimal(11), 1, False),
    ]
    assert sink.published[0].id == "bar_AAPL_1m_20261124T1000_r0"


def test_late_tick_revises_a_closed_bar(conn) -> None:  # type: ignore[no-untyped-def]
    sink = Sink()
    run(conn, [t("a", "10", "10:00:01"), t("b", "11", "10:01:00")], sink)
    result = run(conn, [t("late", "9", "10:00:00")], sink)  # earlier than the bar's open
    assert [(b.open, b.low, b.revision) for b in result.published] == [(Decimal(9), Decimal(9), 1)]
    assert result.published and sink.published[-1].id.endswith("_r1")


def test_symbols_close_independently(conn) -> None:  # type: ignore[no-untyped-def]
    sink = Sink()
    result = run(
        conn, [t("a", "1", "10:00:01", "AAPL"), t("m", "2", "10:00:01", "MSFT"), t("a2", "1", "10:02:00", "AAPL")], sink
    )
    assert [(b.symbol, b.bucket_start.minute) for b in result.published] == [("AAPL", 0)]


def test_publish_failure_rolls_everything_back(conn) -> None:  # type: ignore[no-untyped-def]
    sink = Sink()
    sink.fail = True
    with pytest.raises(RuntimeError):
        run(conn, [t("a", "10", "10:00:01"), t("b", "11", "10:01:00")], sink)
    assert bars(conn) == []
    assert conn.execute("select count(*) as n from ops.inbox").fetchone()["n"] == 0
    sink.fail = False
    assert run(conn, [t("a", "10", "10:00:01"), t("b", "11", "10:01:00")], sink).applied == 2


def run_with(conn, ticks, sink: Sink, intervals: tuple[str, ...], grace_s: float):  # type: ignore[no-untyped-def]
    with conn.transaction():
        return roll_up(conn, ticks, consumer="agg", producer="agg", correlation_id="c", publish=sink.publish,
                       flush=sink.flush, intervals=intervals, grace=timedelta(seconds=grace_s))  # fmt: skip


def test_larger_intervals_close_at_their_boundaries(conn) -> None:  # type: ignore[no-untyped-def]
    sink = Sink()
    first = run_with(conn, [t("a", "10", "10:00:01"), t("b", "12", "10:04:59")], sink, ("1m", "5m"), 0)
    assert [(b.interval, b.bucket_start.minute) for b in first.published] == [("1m", 0)]
    second = run_with(conn, [t("c", "11", "10:05:00")], sink, ("1m", "5m"), 0)  # exactly at the 5m boundary
    assert [(b.interval, b.bucket_start.minute, b.close, b.trade_count) for b in second.published] == [
        ("1m", 4, Decimal(12), 1), ("5m", 0, Decimal(12), 2)]  # fmt: skip
    assert sink.published[-1].id == "bar_AAPL_5m_20261124T1000_r0"


def test_late_tick_inside_the_grace_window_joins_the_open_bar(conn) -> None:  # type: ignore[no-untyped-def]
    sink = Sink()
    first = run_with(conn, [t("a", "10", "10:00:01"), t("b", "11", "10:01:01")], sink, ("1m",), 2)
    assert first.published == []  # 10:01:01 is inside 10:01:00 + 2 s: the 10:00 bar stays open
    late = run_with(conn, [t("late", "9", "10:00:59"), t("c", "11", "10:01:02")], sink, ("1m",), 2)
    assert [(b.bucket_start.minute, b.low, b.trade_count, b.revision) for b in late.published] == [
        (0, Decimal(9), 2, 0)]  # fmt: skip


def test_bar_closer_closes_quiet_symbols_by_the_clock_once(conn) -> None:  # type: ignore[no-untyped-def]
    sink = Sink()
    run_with(conn, [t("a", "10", "10:00:01", "AAPL"), t("m", "2", "10:03:30", "MSFT")], sink, ("1m", "5m"), 2)
    now = datetime(2026, 11, 24, 10, 4, 10, tzinfo=UTC)
    with conn.transaction():
        closed = close_quiet(conn, now, intervals=("1m", "5m"), grace=timedelta(seconds=2), producer="closer",
                             publish=sink.publish, flush=sink.flush)  # fmt: skip
    assert [(b.symbol, b.interval, b.bucket_start.minute) for b in closed] == [("AAPL", "1m", 0), ("MSFT", "1m", 3)]
    with conn.transaction():
        assert close_quiet(conn, now, intervals=("1m", "5m"), grace=timedelta(seconds=2), producer="closer",
                           publish=sink.publish, flush=sink.flush) == []  # fmt: skip


def test_vwap_is_sum_of_price_times_size_over_volume_across_batches_and_revisions(conn) -> None:  # type: ignore[no-untyped-def]
    sink = Sink()
    run(conn, [t("a", "10", "10:00:01", size="3"), t("b", "12.5", "10:00:30", size="1")], sink)
    result = run(conn, [t("c", "11", "10:00:40", size="4"), t("d", "11", "10:01:00")], sink)  # closes 10:00
    (closed,) = result.published
    assert closed.vwap == round(Decimal(30 + 12.5 + 44) / 8, 8) and closed.volume == 8
    assert json.loads(sink.published[-1].to_json())["data"]["vwap"] == str(closed.vwap)  # the bar event carries it
    late = run(conn, [t("late", "1", "10:00:00", size="2")], sink).published[0]  # a revision keeps it exact
    assert late.revision == 1 and late.vwap == round(Decimal(30 + 12.5 + 44 + 2) / 10, 8)


_NUMBERS = st.builds(
    lambda digits, exponent: Decimal(digits).scaleb(exponent), st.integers(0, 10**20), st.integers(-12, 6)
)
_TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
_PARTIALS = st.lists(
    st.builds(
        lambda key, start, prices, times, volume, count, notional: PartialBar(
            *key, start, prices[0], times[0], max(prices), min(prices), prices[1], times[1], volume, count, notional
        ),
        st.tuples(st.sampled_from(["A", "B.C"]), st.sampled_from(["1m", "1h"])),
        _TIMES,
        st.lists(_NUMBERS, min_size=2, max_size=2),
        st.lists(_TIMES, min_size=2, max_size=2),
        _NUMBERS,
        st.integers(0, 2**31 - 1),
        _NUMBERS,
    ),
    unique_by=lambda p: (p.symbol, p.interval, p.bucket_start),
    max_size=8,
)
_COLUMNS = "symbol, interval, bucket_start, open, high, low, close, volume, trade_count, open_ts, close_ts, notional"
# The statement merge used before it sent JSON: psycopg's own array parameters.
_ARRAYS = f"""insert into reference ({_COLUMNS})
select * from unnest(%(symbol)s::text[], %(interval)s::text[], %(bucket_start)s::timestamptz[],
    %(open)s::numeric[], %(high)s::numeric[], %(low)s::numeric[], %(close)s::numeric[], %(volume)s::numeric[],
    %(trade_count)s::integer[], %(open_ts)s::timestamptz[], %(close_ts)s::timestamptz[], %(notional)s::numeric[])"""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(partials=_PARTIALS)
def test_merge_stores_the_values_psycopg_array_parameters_stored(conn, partials: list[PartialBar]) -> None:  # type: ignore[no-untyped-def]
    # merge sends the partials as one JSON text: every number keeps its digits and scale, every time its
    # microseconds, as they did as array parameters.
    def exact(table: str) -> list[tuple[object, ...]]:
        query = f"select {_COLUMNS} from {table} order by symbol, interval, bucket_start"
        rows = conn.execute(query).fetchall()
        return [tuple(v.as_tuple() if isinstance(v, Decimal) else v for v in r.values()) for r in rows]

    with conn.transaction(force_rollback=True):
        conn.execute("create temp table reference (like market.bars including defaults) on commit drop")
        conn.execute(_ARRAYS, {name: [getattr(p, name) for p in partials] for name in PartialBar.__slots__})
        assert bar_store.merge(conn, partials) == []  # new bars: none revised
        assert exact("market.bars") == exact("reference")
