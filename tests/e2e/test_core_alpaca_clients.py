"""The reference routes (assets, clock, calendar) driven by Alpaca's own SDKs through the local gateway.

alpaca-py's TradingClient runs in this venv; alpaca-trade-api's REST runs in its own venv
(.venv-alpaca-trade-api, `make alpaca-trade-api-env`) because it pins old websockets/urllib3/msgpack.
Both authenticate with a bearer token (`oauth_token` / `APCA_API_OAUTH_TOKEN`), which the authorizer accepts today.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, AssetExchange, AssetStatus
from alpaca.trading.requests import GetAssetsRequest, GetCalendarRequest
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


def test_alpaca_trade_api_rest(platform: tuple[Path, dict[str, Any]]) -> None:
    assert ATA_PYTHON.is_file(), "run `make alpaca-trade-api-env` (make test builds it)"
    state, info = platform
    token = local_token(state, subject=f"ata-{uuid.uuid4().hex[:8]}", scope=["trading"])
    env = {
        "PATH": os.environ.get("PATH", ""),
        "APCA_API_BASE_URL": info["runtime"]["gateway"],
        "APCA_API_OAUTH_TOKEN": token,
        "APCA_RETRY_MAX": "0",
    }
    done = subprocess.run(
        [str(ATA_PYTHON), str(ATA_DRIVER)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
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
