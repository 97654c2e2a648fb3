"""Positions, activities, portfolio history and the /v2 account, with fills written as execution will write them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import redis
from support.core_api import Api, Trader, invoke

pytestmark = pytest.mark.integration


def filled(core_env: dict[str, Any], trader: Trader, symbol: str, qty: str, price: str, side: str = "buy") -> str:
    """What the executor will do on a fill: order filled, fill row, position, cash (test setup only)."""
    order_id, amount = uuid.uuid4(), Decimal(qty) * Decimal(price) * (-1 if side == "buy" else 1)
    with psycopg.connect(core_env["dsn"]) as conn:
        conn.execute(
            """insert into trading.orders (id, account_id, client_order_id, symbol, side, type, time_in_force, qty,
               filled_qty, filled_avg_price, status, request_hash, filled_at)
               values (%s, %s, %s, %s, %s, 'market', 'day', %s, %s, %s, 'filled', 'x', now())""",
            (order_id, trader.account_id, str(order_id), symbol, side, qty, qty, price),
        )
        conn.execute(
            "insert into trading.fills (id, order_id, account_id, symbol, side, qty, price)"
            " values (%s, %s, %s, %s, %s, %s, %s)",
            (uuid.uuid4(), order_id, trader.account_id, symbol, side, qty, price),
        )
        signed = Decimal(qty) if side == "buy" else -Decimal(qty)
        conn.execute(
            """insert into trading.positions (account_id, symbol, qty, avg_entry_price) values (%s, %s, %s, %s)
               on conflict (account_id, symbol) do update set qty = trading.positions.qty + excluded.qty""",
            (trader.account_id, symbol, signed, price),
        )
        conn.execute(
            "insert into trading.cash_ledger (id, account_id, entry_type, amount, order_id)"
            " values (%s, %s, 'fill', %s, %s)",
            (uuid.uuid4(), trader.account_id, amount, order_id),
        )
    return str(order_id)


def price(core_env: dict[str, Any], symbol: str, value: str) -> None:
    redis.Redis.from_url(core_env["redis_url"]).hset(f"px:{symbol}", mapping={"p": value, "t": 1})


def test_positions_are_valued_at_the_latest_price(api: Api, trader: Trader, core_env: dict[str, Any]) -> None:
    filled(core_env, trader, "AAPL", "10", "100")
    price(core_env, "AAPL", "110")
    positions = api.get("/v2/positions", headers=trader.key).body
    assert len(positions) == 1
    p = positions[0]
    assert (p["symbol"], p["qty"], p["side"], p["avg_entry_price"], p["current_price"]) == (
        "AAPL",
        "10",
        "long",
        "100",
        "110",
    )
    assert (p["market_value"], p["cost_basis"], p["unrealized_pl"]) == ("1100.00", "1000.00", "100.00")
    assert (p["exchange"], p["asset_class"], p["asset_marginable"]) == ("NASDAQ", "us_equity", True)
    by_symbol = api.get("/v2/positions/AAPL", headers=trader.key).body
    # The same asset id as GET /v2/assets gives, so either finds the position.
    assert by_symbol["asset_id"] == api.get("/v2/assets/AAPL", headers=trader.key).body["id"]
    assert api.get(f"/v2/positions/{by_symbol['asset_id']}", headers=trader.key).body["symbol"] == "AAPL"
    assert api.get("/v2/positions/MSFT", headers=trader.key).status == 404
    account = api.get("/v2/account", headers=trader.key).body
    assert (
        account["cash"] == "99000.00" and account["long_market_value"] == "1100.00" and account["equity"] == "100100.00"
    )


def test_close_by_percentage_qty_and_all(api: Api, trader: Trader, core_env: dict[str, Any]) -> None:
    filled(core_env, trader, "AAPL", "10", "100")
    filled(core_env, trader, "MSFT", "4", "300")
    half = api.delete("/v2/positions/AAPL", headers=trader.key, query={"percentage": "50"})
    assert (
        half.status == 200 and half.body["side"] == "sell" and half.body["qty"] == "5" and half.body["type"] == "market"
    )
    assert api.delete("/v2/positions/AAPL", headers=trader.key, query={"qty": "6"}).status == 403  # 5 already held
    assert api.delete("/v2/positions/AAPL", headers=trader.key, query={"qty": "1", "percentage": "1"}).status == 422
    everything = api.delete("/v2/positions", headers=trader.key, query={"cancel_orders": "True"})
    assert everything.status == 207
    assert {(r["symbol"], r["status"]) for r in everything.body} == {("AAPL", 200), ("MSFT", 200)}
    aapl = next(r for r in everything.body if r["symbol"] == "AAPL")["body"]
    assert aapl["qty"] == "10"  # the half-close order was canceled first, so all 10 are available


def test_activities_list_fills_and_cash_with_paging(api: Api, trader: Trader, core_env: dict[str, Any]) -> None:
    order_id = filled(core_env, trader, "AAPL", "2", "50")
    move = {"type": "deposit", "amount": "10", "idempotency_key": "d1"}
    api.post(f"/v1/accounts/{trader.account_id}/cash-movements", move, headers=trader.bearer)
    all_ = api.get("/v2/account/activities", headers=trader.key).body
    assert [a["activity_type"] for a in all_] == ["CSD", "FILL", "CSD"]  # newest first
    fill = all_[1]
    assert fill["order_id"] == order_id and fill["qty"] == "2" and fill["price"] == "50" and fill["type"] == "fill"
    assert fill["cum_qty"] == "2" and fill["leaves_qty"] == "0" and fill["order_status"] == "filled"
    assert all_[0]["net_amount"] == "10" and all_[2]["net_amount"] == "100000"
    page1 = api.get("/v2/account/activities", headers=trader.key, query={"page_size": 2}).body
    page2 = api.get(
        "/v2/account/activities", headers=trader.key, query={"page_size": 2, "page_token": page1[-1]["id"]}
    ).body
    assert [a["id"] for a in page1 + page2] == [a["id"] for a in all_]
    fills = api.get("/v2/account/activities/FILL", headers=trader.key).body
    assert [a["activity_type"] for a in fills] == ["FILL"]
    typed = api.get(
        "/v2/account/activities", headers=trader.key, query={"activity_types": "CSD", "direction": "asc"}
    ).body
    assert [a["net_amount"] for a in typed] == ["100000", "10"]
    # Alpaca types the book never records are valid and empty; a type Alpaca does not list is 422.
    assert api.get("/v2/account/activities/DIV", headers=trader.key).body == []
    assert api.get("/v2/account/activities", headers=trader.key, query={"activity_types": "JNLC,DIV"}).body == []
    assert api.get("/v2/account/activities/XYZ", headers=trader.key).status == 422
    assert api.get("/v2/account/activities", headers=trader.key, query={"activity_types": "FILL,XYZ"}).status == 422
    assert api.get("/v2/account/activities", headers=trader.key, query={"page_token": "junk"}).status == 422


def ledger(core_env: dict[str, Any], trader: Trader, entry: str, amount: str, at: datetime, **kw: Any) -> str:
    row_id = uuid.uuid4()
    with psycopg.connect(core_env["dsn"]) as conn:
        conn.execute(
            "insert into trading.cash_ledger (id, account_id, entry_type, amount, order_id, description, occurred_at)"
            " values (%s, %s, %s, %s, %s, %s, %s)",
            (row_id, trader.account_id, entry, amount, kw.get("order_id"), kw.get("description", ""), at),
        )
    return str(row_id)


def test_fees_are_fee_activities(api: Api, trader: Trader, core_env: dict[str, Any]) -> None:
    order_id = filled(core_env, trader, "AAPL", "1", "100")
    ledger(core_env, trader, "fee", "-0.35", datetime.now(UTC), order_id=order_id, description="commission")
    fees = api.get("/v2/account/activities/FEE", headers=trader.key).body
    assert len(fees) == 1
    fee = fees[0]
    assert (fee["activity_type"], fee["net_amount"], fee["description"], fee["symbol"]) == (
        "FEE",
        "-0.35",
        "commission",
        "AAPL",
    )
    assert fee["order_id"] == order_id and fee["date"] == datetime.now(UTC).date().isoformat()
    every = api.get("/v2/account/activities", headers=trader.key).body
    assert sorted(a["activity_type"] for a in every) == ["CSD", "FEE", "FILL"]  # the fill's cash leg is no activity
    assert (
        api.get("/v2/account/activities", headers=trader.key, query={"activity_types": "CSD,CSW"}).body[0][
            "activity_type"
        ]
        == "CSD"
    )


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_paging_within_one_millisecond_neither_skips_nor_repeats(
    api: Api, trader: Trader, core_env: dict[str, Any], direction: str
) -> None:
    base = datetime(2026, 1, 5, 15, 0, 0, 123000, tzinfo=UTC)
    made = {ledger(core_env, trader, "deposit", "1", base + timedelta(microseconds=us)) for us in (100, 400, 700, 900)}
    query = {"activity_types": "CSD", "direction": direction, "page_size": 1, "until": "2026-01-06T00:00:00Z"}
    seen: list[str] = []
    token = None
    for _ in range(10):
        page = api.get(
            "/v2/account/activities", headers=trader.key, query={**query, **({"page_token": token} if token else {})}
        ).body
        if not page:
            break
        seen += [a["id"] for a in page]
        token = page[-1]["id"]
    assert len(seen) == len(set(seen)) == 4 and {i.split("::")[1] for i in seen} == made
    assert all(i.startswith("20260105150000123::") for i in seen)


def test_equity_snapshots_and_portfolio_history(api: Api, trader: Trader, core_env: dict[str, Any]) -> None:
    from tp_core.portfolio import take_snapshots
    from tradeplane.latest_price import last_price

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    invoke("equity_snapshot", {})  # the scheduled function, once (its own minute)
    with psycopg.connect(core_env["dsn"]) as conn:
        conn.execute("delete from trading.equity_snapshots where account_id = %s", (trader.account_id,))
    assert take_snapshots(last_price, now - timedelta(hours=2)) >= 1
    assert take_snapshots(last_price, now - timedelta(hours=2)) == 0  # the same minute again: nothing
    filled(core_env, trader, "AAPL", "10", "100")
    price(core_env, "AAPL", "120")
    api.post(
        f"/v1/accounts/{trader.account_id}/cash-movements",
        {"type": "deposit", "amount": "500", "idempotency_key": "p"},
        headers=trader.bearer,
    )
    with psycopg.connect(core_env["dsn"]) as conn:  # the deposit happened between the two snapshots
        conn.execute(
            "update trading.cash_ledger set occurred_at = %s where account_id = %s and idempotency_key = 'p'",
            (now - timedelta(minutes=90), trader.account_id),
        )
    take_snapshots(last_price, now - timedelta(hours=1))
    history = api.get(
        "/v2/account/portfolio/history", headers=trader.key, query={"period": "1D", "timeframe": "1H"}
    ).body
    assert history["timeframe"] == "1H" and len(history["timestamp"]) == 2
    assert history["equity"] == [100000.0, 100700.0]
    assert history["profit_loss"] == [0.0, 200.0]  # the 500 deposit is not profit
    assert history["base_value"] == 100000.0
    assert api.get("/v2/account/portfolio/history", headers=trader.key, query={"period": "0D"}).status == 422
    assert (
        api.get("/v2/account/portfolio/history", headers=trader.key, query={"period": "1A", "timeframe": "1Min"}).status
        == 422
    )


def test_account_configurations(api: Api, trader: Trader) -> None:
    config = api.get("/v2/account/configurations", headers=trader.key).body
    assert (
        config["no_shorting"] is True and config["suspend_trade"] is False and config["trade_confirm_email"] == "none"
    )
    patched = api.patch("/v2/account/configurations", {"no_shorting": False, "suspend_trade": True}, headers=trader.key)
    assert patched.status == 200 and patched.body["no_shorting"] is False and patched.body["suspend_trade"] is True
    assert api.get("/v2/account", headers=trader.key).body["trading_blocked"] is True
    assert (
        api.patch("/v2/account/configurations", {"trade_confirm_email": "sometimes"}, headers=trader.key).status == 422
    )
