"""alpaca-py's StockHistoricalDataClient, unchanged, against the local platform: data ingested through
POST /v1/market-data (CSV bars, JSON trades and quotes) is read back as bars, latest trades and quotes."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest, StockLatestQuoteRequest, StockLatestTradeRequest
from alpaca.data.timeframe import TimeFrame
from tradeplane_local.admin import paper_account
from tradeplane_local.devtokens import local_token

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAYS = 30
BARS_CSV = "Date,Open,High,Low,Close,Volume\n" + "".join(
    f"2026-10-{d:02d},{100 + d},{102 + d},{99 + d},{101 + d},{1000 * d}\n" for d in range(1, DAYS + 1)
)


@pytest.fixture(scope="module")
def data(platform: tuple[Path, dict[str, Any]]) -> StockHistoricalDataClient:
    state, info = platform
    paper = paper_account(state, Decimal("1000"))
    token = local_token(state, subject="etl-e2e", scope=["market-data:write"], ttl_s=300)
    gateway = info["runtime"]["gateway"]
    with httpx.Client(base_url=gateway, headers={"Authorization": f"Bearer {token}"}, timeout=30, verify=False) as http:  # noqa: S501 - local self-signed TLS
        for symbol in ("AAPL", "MSFT"):
            sent = http.post("/v1/market-data", params={"source": "vendor", "symbol": symbol}, content=BARS_CSV,
                             headers={"content-type": "text/csv"})  # fmt: skip
            assert sent.status_code == 202, sent.text
        ticks = {
            "source": "feed",
            # A time no other suite's AAPL tick has: the servers (and market.ticks) are shared by the session,
            # and the latest trade at an equal time is whichever came first.
            "trades": [{"symbol": "AAPL", "ts": "2026-11-24T14:30:01.250Z", "price": "190.25", "size": "7"}],
            "quotes": [
                {
                    "symbol": "AAPL",
                    "ts": "2026-11-24T14:30:02Z",
                    "bid": "190.2",
                    "bid_size": "3",
                    "ask": "190.3",
                    "ask_size": "4",
                }
            ],
        }
        assert http.post("/v1/market-data", json=ticks).status_code == 202
    return StockHistoricalDataClient(paper["APCA_API_KEY_ID"], paper["APCA_API_SECRET_KEY"], url_override=gateway)


def test_daily_bars_of_two_symbols_come_back_through_paging(data: StockHistoricalDataClient) -> None:
    window = {"start": datetime(2026, 10, 1, tzinfo=UTC), "end": datetime(2026, 10, 31, tzinfo=UTC)}
    request = StockBarsRequest(symbol_or_symbols=["AAPL", "MSFT"], timeframe=TimeFrame.Day, **window)
    barset = data.get_stock_bars(request)
    assert [len(barset.data[s]) for s in ("AAPL", "MSFT")] == [DAYS, DAYS]
    first = barset.data["AAPL"][0]
    assert (first.open, first.high, first.low, first.close, first.volume) == (101, 103, 100, 102, 1000)
    assert first.timestamp == datetime(2026, 10, 1, tzinfo=UTC)
    # limit smaller than the data: the client pages with next_page_token until it has `limit` bars
    limited = data.get_stock_bars(StockBarsRequest(symbol_or_symbols="AAPL", timeframe=TimeFrame.Day, limit=12,
                                                   start=datetime(2026, 10, 5)))  # fmt: skip
    assert [b.timestamp.day for b in limited.data["AAPL"]] == list(range(5, 17))


def test_latest_trade_and_quote(data: StockHistoricalDataClient) -> None:
    deadline = time.monotonic() + 60  # the bar aggregator consumes market.ticks asynchronously
    trades: dict[str, Any] = {}
    while time.monotonic() < deadline:
        trades = data.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols="AAPL"))
        quotes = data.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols="AAPL"))
        if "AAPL" in trades and "AAPL" in quotes:
            break
        time.sleep(0.5)
    assert trades["AAPL"].price == 190.25 and trades["AAPL"].size == 7
    assert (quotes["AAPL"].bid_price, quotes["AAPL"].ask_price, quotes["AAPL"].ask_size) == (190.2, 190.3, 4)


def test_weeks_and_months_roll_up_the_daily_bars(data: StockHistoricalDataClient) -> None:
    window = {"start": datetime(2026, 10, 1, tzinfo=UTC), "end": datetime(2026, 10, 31, tzinfo=UTC)}
    weeks = data.get_stock_bars(StockBarsRequest(symbol_or_symbols="AAPL", timeframe=TimeFrame.Week, **window))
    # 2026-10-01 is a Thursday: its week (from Monday 09-28) is served whole
    assert weeks.data["AAPL"][0].timestamp == datetime(2026, 9, 28, tzinfo=UTC)
    assert [w.timestamp.weekday() for w in weeks.data["AAPL"]] == [0] * 5
    assert sum(w.volume for w in weeks.data["AAPL"]) == sum(1000 * d for d in range(1, DAYS + 1))
    months = data.get_stock_bars(StockBarsRequest(symbol_or_symbols="AAPL", timeframe=TimeFrame.Month, **window))
    (october,) = months.data["AAPL"]
    assert (october.timestamp, october.open, october.close, october.high, october.low) == (
        datetime(2026, 10, 1, tzinfo=UTC), 101, 101 + DAYS, 102 + DAYS, 100)  # fmt: skip
    assert october.vwap is None  # the file had no VWAP column: unknown


def test_unsupported_timeframe_is_an_alpaca_error(data: StockHistoricalDataClient) -> None:
    with pytest.raises(APIError) as err:  # alpaca-py builds no 2-week timeframe: sent as a raw query
        data.get("/stocks/bars", {"symbols": "AAPL", "timeframe": "2Week"})
    assert err.value.code == 42210000


def test_cli_synth_then_replay_through_the_platform(
    platform: tuple[Path, dict[str, Any]], data: StockHistoricalDataClient, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from tradeplane_local.cli import main

    state, _ = platform
    path = tmp_path / "bars.csv.gz"
    start = "2026-11-02T14:30:00+00:00"
    assert main(["data", "synth", "--kind", "bars", "--symbols", "ZZR", "--minutes", "30", "--start", start,
                 "--out", str(path)]) == 0  # fmt: skip
    assert main(["data", "replay", str(path), "--state-dir", str(state), "--batch-rows", "7", "--source", "cli"]) == 0
    assert "30 rows in 5 requests: 30 accepted" in capsys.readouterr().out
    request = StockBarsRequest(symbol_or_symbols="ZZR", timeframe=TimeFrame.Minute, start=datetime(2026, 11, 2))
    assert len(data.get_stock_bars(request).data["ZZR"]) == 30
