"""alpaca-py's TradingClient, unchanged, against the local platform: every call it has for the Core API's routes.

`tradeplane local paper-account` makes the account and key, as a user with an existing bot would.
Positions are written into the book as the executor will write fills (it is not built yet).
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetOrdersRequest,
    GetPortfolioHistoryRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
)
from tradeplane_local.admin import local_dsn, paper_account
from tradeplane_local.cli import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def paper(platform: tuple[Path, dict[str, Any]]) -> dict[str, str]:
    state, _ = platform
    return paper_account(state, Decimal("50000"))


@pytest.fixture(scope="module")
def client(paper: dict[str, str]) -> TradingClient:
    return TradingClient(
        paper["APCA_API_KEY_ID"], paper["APCA_API_SECRET_KEY"], url_override=paper["APCA_API_BASE_URL"]
    )


def hold(platform: tuple[Path, dict[str, Any]], account_id: str, symbol: str, qty: str, price: str) -> None:
    """A long position as the executor will book a fill."""
    with psycopg.connect(local_dsn(platform[0]) or "") as conn:
        conn.execute(
            "insert into trading.positions (account_id, symbol, qty, avg_entry_price) values (%s, %s, %s, %s)",
            (account_id, symbol, qty, price),
        )


def test_paper_account_cli_prints_alpaca_variables(
    platform: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    state, _ = platform
    assert main(["local", "paper-account", "--cash", "1234.5", "--state-dir", str(state)]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split("=", 1)[0] for line in lines]
    assert names == ["export APCA_API_KEY_ID", "export APCA_API_SECRET_KEY", "export APCA_API_BASE_URL"]
    env = dict(line.removeprefix("export ").split("=", 1) for line in lines)
    account = TradingClient(
        env["APCA_API_KEY_ID"], env["APCA_API_SECRET_KEY"], url_override=env["APCA_API_BASE_URL"]
    ).get_account()
    assert account.cash == "1234.50"


def test_account_and_configurations(client: TradingClient) -> None:
    account = client.get_account()
    assert account.status == "ACTIVE" and account.cash == "50000.00" and account.buying_power == "50000.00"
    config = client.get_account_configurations()
    assert config.no_shorting is True
    config.trade_confirm_email = "all"
    assert client.set_account_configurations(config).trade_confirm_email == "all"


def settled(client: TradingClient, order_id: Any, timeout: float = 10.0) -> Any:
    """The order's status once the executor has applied a cancel or replace: an order the venue holds
    is `pending_cancel` / `pending_replace` until then (execution, issue 10)."""
    deadline = time.monotonic() + timeout
    status = client.get_order_by_id(order_id).status  # type: ignore[union-attr]
    while status in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE) and time.monotonic() < deadline:
        time.sleep(0.05)
        status = client.get_order_by_id(order_id).status  # type: ignore[union-attr]
    return status


def test_orders_lifecycle(client: TradingClient) -> None:
    order = client.submit_order(
        LimitOrderRequest(
            symbol="AAPL",
            qty=2,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            limit_price=100.5,
            client_order_id="bot-1",
        )
    )
    assert order.status == OrderStatus.ACCEPTED and order.qty == "2" and order.limit_price == "100.5"
    assert client.get_order_by_id(order.id).client_order_id == "bot-1"
    assert client.get_order_by_client_id("bot-1").id == order.id
    listed = client.get_orders(
        GetOrdersRequest(status=QueryOrderStatus.OPEN, symbols=["AAPL", "MSFT"], side=OrderSide.BUY, nested=True)
    )
    assert [o.id for o in listed] == [order.id]
    replaced = client.replace_order_by_id(order.id, ReplaceOrderRequest(qty=3, limit_price=99))
    assert replaced.replaces == order.id and replaced.qty == "3"
    assert settled(client, order.id) == OrderStatus.REPLACED
    client.cancel_order_by_id(replaced.id)
    assert settled(client, replaced.id) == OrderStatus.CANCELED
    bracket = client.submit_order(
        LimitOrderRequest(
            symbol="MSFT",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            limit_price=300,
            order_class="bracket",
            take_profit=TakeProfitRequest(limit_price=330),
            stop_loss=StopLossRequest(stop_price=280),
        )
    )
    assert bracket.legs is not None and len(bracket.legs) == 2
    cancelled = client.cancel_orders()
    assert [c.id for c in cancelled] == [bracket.id] and cancelled[0].status == 200
    assert settled(client, bracket.id) == OrderStatus.CANCELED
    closed = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED, limit=10))
    assert {o.id for o in closed} >= {order.id, replaced.id, bracket.id}


def test_positions(client: TradingClient, platform: tuple[Path, dict[str, Any]]) -> None:
    account_id = str(client.get_account().id)
    hold(platform, account_id, "NVDA", "10", "100")
    hold(platform, account_id, "TSLA", "4", "200")
    positions = client.get_all_positions()
    assert [(p.symbol, p.qty, p.side) for p in positions] == [("NVDA", "10", "long"), ("TSLA", "4", "long")]
    assert client.get_open_position("NVDA").cost_basis == "1000.00"
    half = client.close_position("NVDA", ClosePositionRequest(percentage="50"))
    assert half.side == OrderSide.SELL and half.qty == "5"
    results = client.close_all_positions(cancel_orders=True)
    assert sorted(r.symbol for r in results) == ["NVDA", "TSLA"] and {r.status for r in results} == {200}


def test_activities_and_portfolio_history(client: TradingClient) -> None:
    activities = client.get("/account/activities", {"activity_types": "CSD", "page_size": 10})
    assert isinstance(activities, list) and activities[0]["activity_type"] == "CSD"
    assert activities[0]["net_amount"] == "50000"
    history = client.get_portfolio_history(GetPortfolioHistoryRequest(period="1W", timeframe="1D"))
    # The scheduler's equity_snapshot may or may not have run yet: the series are consistent either way.
    assert history.timeframe == "1D" and len(history.timestamp) == len(history.equity) == len(history.profit_loss)
    assert all(e > 0 for e in history.equity)


def test_a_wrong_key_raises_api_error_401(paper: dict[str, str]) -> None:
    wrong = TradingClient(paper["APCA_API_KEY_ID"], "wrong-secret", url_override=paper["APCA_API_BASE_URL"])
    with pytest.raises(APIError) as info:
        wrong.get_account()
    assert info.value.status_code == 401 and info.value.code == 40110000
    unknown = TradingClient("PK" + "X" * 18, "s", url_override=paper["APCA_API_BASE_URL"])
    with pytest.raises(APIError) as info:
        unknown.submit_order(
            MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
        )
    assert info.value.status_code == 401


def test_risk_rejection_reaches_the_sdk_as_alpaca_error(client: TradingClient) -> None:
    with pytest.raises(APIError) as info:
        client.submit_order(
            LimitOrderRequest(
                symbol="AAPL", qty=1000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=100
            )
        )
    assert info.value.status_code == 403 and info.value.code == 40310000
    assert info.value.message == "insufficient buying power"
    with pytest.raises(APIError) as info:
        client.get_order_by_id(uuid.uuid4())
    assert info.value.status_code == 404
