"""Alpaca's own SDKs through the local gateway: the reference routes (assets, clock, calendar) with both, and
the book (account, orders, positions, activities) with alpaca-trade-api (alpaca-py's full run is
test_core_alpaca_py.py).

alpaca-py's TradingClient runs in this venv; alpaca-trade-api's REST runs in its own venv
(.venv-alpaca-trade-api, `make alpaca-trade-api-env`) because it pins old websockets/urllib3/msgpack,
driven by alpaca_trade_api_env/drive.py. The reference routes authenticate with a bearer token
(`oauth_token` / `APCA_API_OAUTH_TOKEN`); the book with an API key from `tradeplane local paper-account`.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, AssetExchange, AssetStatus
from alpaca.trading.requests import GetAssetsRequest, GetCalendarRequest
from tradeplane_local.admin import local_dsn, paper_account
from tradeplane_local.devtokens import local_token
from tradeplane_tools.manifest import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ATA_PYTHON = REPO_ROOT / ".venv-alpaca-trade-api" / "bin" / "python"
ATA_DRIVER = Path(__file__).resolve().parent / "alpaca_trade_api_env" / "drive.py"


@pytest.fixture(scope="module")
def client(platform: tuple[Path, dict[str, Any]]) -> TradingClient:
    state, info = platform
    token = local_token(state, subject=f"alpaca-py-{uuid.uuid4().hex[:8]}", scope=["trading"])
    return TradingClient(oauth_token=token, url_override=info["runtime"]["gateway"])


def test_alpaca_py_clock_and_calendar(client: TradingClient) -> None:
    clock = client.get_clock()
    assert clock.next_close > clock.timestamp and (clock.is_open or clock.next_open > clock.timestamp)
    days = client.get_calendar(GetCalendarRequest(start=date(2026, 11, 23), end=date(2026, 11, 28)))
    assert [(d.date.isoformat(), d.open.strftime("%H:%M"), d.close.strftime("%H:%M")) for d in days] == [
        ("2026-11-23", "09:30", "16:00"),
        ("2026-11-24", "09:30", "16:00"),
        ("2026-11-25", "09:30", "16:00"),
        ("2026-11-27", "09:30", "13:00"),
    ]


def test_alpaca_py_assets(client: TradingClient) -> None:
    everything = client.get_all_assets()
    assert {"AAPL", "SPY", "MSFT"} <= {a.symbol for a in everything}
    arca = client.get_all_assets(
        GetAssetsRequest(status=AssetStatus.ACTIVE, asset_class=AssetClass.US_EQUITY, exchange=AssetExchange.NYSEARCA)
    )
    assert arca and {a.exchange for a in arca} == {AssetExchange.NYSEARCA}
    late = client.get_all_assets(GetAssetsRequest(attributes="options_late_close"))
    assert {"SPY", "QQQ"} <= {a.symbol for a in late} and "AAPL" not in {a.symbol for a in late}
    aapl = client.get_asset("AAPL")
    assert client.get_asset(aapl.id).symbol == "AAPL" and aapl.asset_class == AssetClass.US_EQUITY


def test_alpaca_py_reads_our_errors(client: TradingClient) -> None:
    with pytest.raises(APIError) as caught:
        client.get_asset("ZZZZ")
    assert caught.value.status_code == 404 and caught.value.code == 40410000
    assert caught.value.message == "asset not found"


def drive(platform: tuple[Path, dict[str, Any]], scenario: str, credentials: dict[str, str]) -> Any:
    """Run one scenario of drive.py in alpaca-trade-api's venv; what it read, as JSON."""
    assert ATA_PYTHON.is_file(), "run `make alpaca-trade-api-env` (make test builds it)"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "APCA_API_BASE_URL": platform[1]["runtime"]["gateway"],
        "APCA_RETRY_MAX": "0",
        **credentials,
    }
    done = subprocess.run(
        [str(ATA_PYTHON), str(ATA_DRIVER), scenario], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_alpaca_trade_api_rest(platform: tuple[Path, dict[str, Any]]) -> None:
    state, _ = platform
    token = local_token(state, subject=f"ata-{uuid.uuid4().hex[:8]}", scope=["trading"])
    out = drive(platform, "reference", {"APCA_API_OAUTH_TOKEN": token})
    assert out["calendar"] == [
        ["2026-11-23", "09:30", "16:00"],
        ["2026-11-24", "09:30", "16:00"],
        ["2026-11-25", "09:30", "16:00"],
        ["2026-11-27", "09:30", "13:00"],
    ]
    assert out["clock"]["is_open"] or out["clock"]["next_open_after_now"]
    assert {"AAPL", "SPY", "BRK.B"} <= set(out["symbols"])
    assert out["aapl"]["class"] == "us_equity" and out["aapl"]["exchange"] == "NASDAQ" and out["aapl"]["same"]
    assert out["missing"] == {"status": 404, "code": 40410000, "message": "asset not found"}


def book_with_holdings(platform: tuple[Path, dict[str, Any]]) -> dict[str, str]:
    """A paper account (as `tradeplane local paper-account` makes it) holding 10 AAPL @ 150 and 4 MSFT @ 300
    from filled orders, written as the executor books fills (fills, positions and cash)."""
    paper = paper_account(platform[0], Decimal("100000"))
    with psycopg.connect(local_dsn(platform[0]) or "") as conn:
        account_id = conn.execute(
            "select account_id from core.api_keys where key_id = %s", (paper["APCA_API_KEY_ID"],)
        ).fetchone()[0]
        for symbol, qty, price in (("AAPL", "10", "150"), ("MSFT", "4", "300")):
            order_id = uuid.uuid4()
            conn.execute(
                """insert into trading.orders (id, account_id, client_order_id, symbol, side, type, time_in_force,
                   qty, filled_qty, filled_avg_price, status, request_hash, filled_at)
                   values (%s, %s, %s, %s, 'buy', 'market', 'day', %s, %s, %s, 'filled', 'x', %s)""",
                (order_id, account_id, str(order_id), symbol, qty, qty, price, datetime.now(UTC)),
            )
            conn.execute(
                "insert into trading.fills (id, order_id, account_id, symbol, side, qty, price)"
                " values (%s, %s, %s, %s, 'buy', %s, %s)",
                (uuid.uuid4(), order_id, account_id, symbol, qty, price),
            )
            conn.execute(
                "insert into trading.positions (account_id, symbol, qty, avg_entry_price) values (%s, %s, %s, %s)",
                (account_id, symbol, qty, price),
            )
            conn.execute(
                "insert into trading.cash_ledger (id, account_id, entry_type, amount, order_id)"
                " values (%s, %s, 'fill', %s, %s)",
                (uuid.uuid4(), account_id, -Decimal(qty) * Decimal(price), order_id),
            )
    return {"APCA_API_KEY_ID": paper["APCA_API_KEY_ID"], "APCA_API_SECRET_KEY": paper["APCA_API_SECRET_KEY"]}


def test_alpaca_trade_api_drives_the_book(platform: tuple[Path, dict[str, Any]]) -> None:
    out = drive(platform, "book", book_with_holdings(platform))
    # 100,000 deposited, 2,700 spent on the fills.
    assert out["account"] == {"status": "ACTIVE", "cash": "97300.00", "buying_power": "97300.00"}
    o = out["orders"]
    first = o["first"]
    assert first["client_order_id"] == "ata-1" and first["status"] == "accepted" and first["qty"] == "2"
    assert o["repeat_id"] == first["id"]  # same client_order_id, same body (strings vs numbers): same order
    assert o["listed"] == [first["id"]] and o["by_client"] == first["id"]
    # The executor may have taken the order to the venue by the time it is read back (accepted -> new).
    assert o["got"]["status"] in ("accepted", "new") and {**o["got"], "status": "accepted"} == first
    new = o["new"]
    assert new["replaces"] == first["id"] and new["qty"] == "3" and new["limit_price"] == "99.5"
    assert o["old"]["status"] == "replaced" and o["old"]["replaced_by"] == new["id"]
    assert o["canceled"]["status"] == "canceled"
    assert o["cancel_again"] == {"status": 422, "code": 42210000, "message": 'order is already in "canceled" state'}
    assert o["others_after"] == ["canceled", "canceled"]
    assert set(o["closed"]) >= {first["id"], new["id"], *o["others"]}
    p = out["positions"]
    assert p["held"] == [["AAPL", "10", "long", "NASDAQ"], ["MSFT", "4", "long", "NASDAQ"]]
    assert p["aapl"]["avg_entry_price"] == "150" and p["aapl"]["cost_basis"] == "1500.00"
    assert p["close"]["symbol"] == "MSFT" and p["close"]["side"] == "sell" and p["close"]["qty"] == "1"
    assert p["close"]["type"] == "market" and p["close"]["status"] == "accepted"
    assert p["missing"] == {"status": 404, "code": 40410000, "message": "position does not exist"}
    a = out["activities"]
    assert sorted(a["types"]) == ["CSD", "FILL", "FILL"] and a["cash"] == ["100000"]
    assert a["paged"] == a["first_two"]  # page 2 starts right after page 1's last id
    assert a["fill"]["side"] == "buy" and a["fill"]["type"] == "fill"


def test_alpaca_trade_api_reads_a_wrong_key_as_its_api_error(platform: tuple[Path, dict[str, Any]]) -> None:
    wrong = {"APCA_API_KEY_ID": "PK" + "0" * 18, "APCA_API_SECRET_KEY": "not-the-secret"}
    assert drive(platform, "wrong-key", wrong) == {
        "status": 401,
        "code": 40110000,
        "message": "request is not authorized",
    }
