"""Serving history and latest prices: paging over the real bar store, latest trade/quote from the real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
import redis
from psycopg.rows import dict_row
from support.reset import reset_all
from tp_etl.bar_store import store_imported
from tp_etl.latest_prices import remember_latest, remember_latest_quotes
from tp_etl.market_data import BarQuery, interval_of, latest, latest_one, read_bars
from tradeplane.contracts.market import Bar, Quote, Tick
from tradeplane.problems import Problem
from tradeplane_tools.migrate import apply_migrations

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def conn(pg_dsn: str) -> Iterator[psycopg.Connection]:  # type: ignore[type-arg]
    apply_migrations(pg_dsn)
    with psycopg.connect(pg_dsn, row_factory=dict_row, autocommit=True) as c:
        bars = [
            Bar(symbol=s, interval="5m", bucket_start=T0 + timedelta(minutes=5 * i), open=10 + i, high=12 + i,
                low=9 + i, close=Decimal("11.5") + i, volume=100 * (i + 1), trade_count=i)
            for s in ("AAPL", "MSFT", "IBM") for i in range(7)
        ]  # fmt: skip
        store_imported(c, bars)
        yield c


def pages(conn, **kw) -> list[list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    out, token = [], None
    while True:
        args = {"symbols": "msft,AAPL", "timeframe": "5Min", "start": None, "end": None, "limit": 4, "sort": None}
        bars, token = read_bars(conn, BarQuery.of(**{**args, **kw, "page_token": token}))
        out.append([(s, b["t"]) for s, rows in bars.items() for b in rows])
        if token is None:
            return out


def test_paging_returns_every_bar_once_in_symbol_then_time_order(conn) -> None:  # type: ignore[no-untyped-def]
    got = pages(conn)
    assert [len(p) for p in got] == [4, 4, 4, 2]
    flat = [row for page in got for row in page]
    assert flat == sorted(flat) and len(set(flat)) == 14 and {s for s, _ in flat} == {"AAPL", "MSFT"}
    desc = [row for page in pages(conn, sort="desc") for row in page]
    assert desc == sorted(flat, key=lambda r: (r[0], [-ord(c) for c in r[1]]))


def test_start_end_and_the_bar_shape(conn) -> None:  # type: ignore[no-untyped-def]
    query = BarQuery.of("AAPL", "5Min", "2026-11-24T14:35:00", "2026-11-24T14:45:00Z", None, None, None)
    bars, token = read_bars(conn, query)
    assert token is None and [b["t"] for b in bars["AAPL"]] == [
        "2026-11-24T14:35:00Z", "2026-11-24T14:40:00Z", "2026-11-24T14:45:00Z"]  # fmt: skip
    assert bars["AAPL"][0] == {
        "t": "2026-11-24T14:35:00Z",
        "o": 11,
        "h": 13,
        "l": 10,
        "c": 12.5,
        "v": 200,
        "n": 1,
        "vw": None,
    }  # fmt: skip  (imported without a VWAP: unknown)


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("AAPL", "2Week", None, None, None, None, None), 422),
        (("AAPL", "5Month", None, None, None, None, None), 422),
        (("AAPL", "90Min", None, None, None, None, None), 422),
        (("AAPL", "2Day", None, None, None, None, None), 422),
        (("AAPL", "1Min", "yesterday", None, None, None, None), 422),
        (("", "1Min", None, None, None, None, None), 422),
        (("AAPL", "1Min", None, None, 0, None, None), 422),
        (("AAPL", "1Min", None, None, None, "not-a-token", None), 400),
    ],
)
def test_bad_queries_are_refused(args: tuple, status: int) -> None:  # type: ignore[type-arg]
    with pytest.raises(Problem) as err:
        BarQuery.of(*args)
    assert err.value.status == status


def test_timeframes_map_to_intervals() -> None:
    timeframes = ("1Min", "15T", "1Hour", "4H", "1Day", "1D", "1Week", "1W", "1Month", "3M", "12Month")
    assert [interval_of(t) for t in timeframes] == ["1m", "15m", "1h", "4h", "1d", "1d", "1w", "1w", "1mo", "3mo",
                                                    "12mo"]  # fmt: skip


DAY0 = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


@pytest.fixture(scope="module")
def daily(conn) -> list[Bar]:  # type: ignore[no-untyped-def]
    """95 daily bars of DAILY (2026-01-01 .. 2026-04-05) with a VWAP, except one day in March without."""
    bars = [
        Bar(symbol="DAILY", interval="1d", bucket_start=DAY0 + timedelta(days=i), open=100 + i, high=110 + i,
            low=90 + i, close=105 + i, volume=10 + i, trade_count=i, vwap=None if i == 70 else Decimal(101 + i))
        for i in range(95)
    ]  # fmt: skip
    store_imported(conn, bars)
    return bars


def _rolled(conn, timeframe: str, **kw) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    args = {"start": None, "end": None, "limit": 1000, "page_token": None, "sort": None, **kw}
    return read_bars(conn, BarQuery.of("DAILY", timeframe, **args))[0]["DAILY"]  # type: ignore[arg-type]


def _expected(days: list[Bar]) -> dict:  # type: ignore[type-arg]
    notional = None if any(d.vwap is None for d in days) else sum(d.vwap * d.volume for d in days)  # type: ignore[operator]
    volume = sum(d.volume for d in days)
    return {"o": days[0].open, "h": max(d.high for d in days), "l": min(d.low for d in days), "c": days[-1].close,
            "v": volume, "n": sum(d.trade_count for d in days),
            "vw": None if notional is None else float(round(notional / volume, 8))}  # fmt: skip


def test_weeks_roll_up_daily_bars_from_monday(conn, daily: list[Bar]) -> None:  # type: ignore[no-untyped-def]
    weeks = _rolled(conn, "1Week")
    mondays = [d.bucket_start for d in daily if d.bucket_start.weekday() == 0]
    # the first week starts on the Monday before 2026-01-01 and holds Thursday to Sunday
    assert [w["t"][:10] for w in weeks] == ["2025-12-29"] + [m.date().isoformat() for m in mondays]
    for week in weeks:
        start = datetime.fromisoformat(week["t"])
        inside = [d for d in daily if start <= d.bucket_start < start + timedelta(days=7)]
        assert {k: week[k] for k in ("o", "h", "l", "c", "v", "n", "vw")} == _expected(inside)


def test_months_and_quarters_align_to_january_and_vwap_is_null_when_a_day_has_none(conn, daily: list[Bar]) -> None:  # type: ignore[no-untyped-def]
    months = _rolled(conn, "1Month")
    assert [m["t"] for m in months] == ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z",
                                        "2026-04-01T00:00:00Z"]  # fmt: skip
    january = [d for d in daily if d.bucket_start.month == 1]
    assert months[0]["o"] == 100 and months[0]["v"] == sum(d.volume for d in january)
    assert months[0]["vw"] == _expected(january)["vw"] and months[2]["vw"] is None  # day 70 is 2026-03-12
    quarters = _rolled(conn, "3Month")
    assert [q["t"][:10] for q in quarters] == ["2026-01-01", "2026-04-01"]
    assert quarters[0]["n"] == sum(d.trade_count for d in daily if d.bucket_start.month <= 3)
    # the period holding start is served whole, up to the last one starting by end; paging walks periods
    assert [m["t"][:7] for m in _rolled(conn, "1Month", start="2026-02-10", end="2026-03-01")] == ["2026-02", "2026-03"]
    first = _rolled(conn, "1Week", start="2026-01-14T12:00:00Z", end="2026-01-19")  # a Wednesday to a Monday
    assert [w["t"][:10] for w in first] == ["2026-01-12", "2026-01-19"] and first[0]["n"] == sum(range(11, 18))
    page, token = read_bars(conn, BarQuery.of("DAILY", "1Month", None, None, 3, None, "desc"))
    assert [m["t"][:7] for m in page["DAILY"]] == ["2026-04", "2026-03", "2026-02"] and token is not None


@pytest.fixture
def r(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:  # type: ignore[type-arg]
    monkeypatch.setenv("TP_REDIS_URL", redis_url)
    reset_all()
    yield redis.Redis.from_url(redis_url)
    reset_all()


def test_latest_trade_and_quote_newest_wins(r: redis.Redis) -> None:  # type: ignore[type-arg]
    remember_latest([Tick(symbol="AAPL", price=Decimal("10.5"), size=Decimal(3), ts=T0)])
    quote = Quote(symbol="AAPL", bid=Decimal(10), bid_size=Decimal(1), ask=Decimal("10.1"), ask_size=Decimal(2), ts=T0,
                  venue="V")  # fmt: skip
    remember_latest_quotes([quote])
    remember_latest_quotes([quote.model_copy(update={"bid": Decimal(9), "ts": T0 - timedelta(seconds=1)})])  # late
    assert latest(r, "trades", ["AAPL", "MSFT"]) == {"AAPL": {"t": "2026-11-24T14:30:00.000000Z", "p": 10.5, "s": 3}}
    assert latest_one(r, "quotes", "aapl") == {"t": "2026-11-24T14:30:00.000000Z", "bp": 10, "bs": 1, "ap": 10.1,
                                               "as": 2, "bx": "V", "ax": "V"}  # fmt: skip
    with pytest.raises(Problem) as err:
        latest_one(r, "trades", "MSFT")
    assert err.value.status == 404


def test_query_strings_as_alpaca_py_sends_them() -> None:
    query = BarQuery.from_query({"symbols": "AAPL,MSFT", "timeframe": "1Day", "limit": "10000",
                                 "start": "2026-10-01T00:00:00", "feed": "iex"})  # fmt: skip
    assert (query.symbols, query.interval, query.limit, query.start) == (
        ["AAPL", "MSFT"], "1d", 10_000, datetime(2026, 10, 1, tzinfo=UTC))  # fmt: skip
    assert BarQuery.from_query({"timeframe": "1Min"}, "ibm").symbols == ["IBM"]
    for bad in ({"symbols": "AAPL"}, {"symbols": "AAPL", "timeframe": "1Min", "limit": "ten"}):
        with pytest.raises(Problem) as err:
            BarQuery.from_query(bad)
        assert err.value.status == 422
