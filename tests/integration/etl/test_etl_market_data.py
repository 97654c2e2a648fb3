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
    assert bars["AAPL"][0] == {"t": "2026-11-24T14:35:00Z", "o": 11, "h": 13, "l": 10, "c": 12.5, "v": 200, "n": 1,
                               "vw": None}  # fmt: skip


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("AAPL", "1Week", None, None, None, None, None), 422),
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
    assert [interval_of(t) for t in ("1Min", "15T", "1Hour", "4H", "1Day", "1D")] == [
        "1m",
        "15m",
        "1h",
        "4h",
        "1d",
        "1d",
    ]


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
