"""A strategy's signals, orders, fills and P&L on an account it shares with another strategy."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import redis
from support.core_api import Api, Trader
from tradeplane.contracts.market import latest_price_key

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def _strategy(api: Api, trader: Trader, name: str) -> str:
    reply = api.post(
        "/v1/strategies",
        {
            "name": name,
            "type": "ma_crossover",
            "params": {"fast": 2, "slow": 4},
            "symbols": ["ACME"],
            "sizing": {"kind": "fixed_qty", "qty": "10"},
        },
        headers=trader.key,
    )
    assert reply.status == 201, reply.body
    return str(reply.body["id"])


def _trade(conn: psycopg.Connection[Any], account: str, strategy: str, i: int, side: str, qty: str, price: str) -> None:
    """What the runner and execution leave behind: a signal naming its order, the order, its fill and fee."""
    coid = f"s-{strategy[:8]}-{i}-{uuid.uuid4().hex[:6]}"
    order_id = uuid.uuid4()
    conn.execute(
        """insert into strategy.signals (id, strategy_id, symbol, bar_ts, direction, reason, client_order_id,
                                         order_qty, order_side, status)
           values (%s, %s, 'ACME', %s, %s, 'cross', %s, %s, %s, 'submitted')""",
        (uuid.uuid4(), strategy, T0 + timedelta(minutes=i), 1 if side == "buy" else 0, coid, qty, side),
    )
    conn.execute(
        """insert into trading.orders (id, account_id, client_order_id, symbol, side, type, time_in_force, qty,
                                       status, filled_qty, filled_avg_price, request_hash)
           values (%s, %s, %s, 'ACME', %s, 'market', 'day', %s, 'filled', %s, %s, 'x')""",
        (order_id, account, coid, side, qty, qty, price),
    )
    conn.execute(
        """insert into trading.fills (id, order_id, account_id, symbol, side, qty, price, occurred_at)
           values (%s, %s, %s, 'ACME', %s, %s, %s, %s)""",
        (uuid.uuid4(), order_id, account, side, qty, price, T0 + timedelta(minutes=i, seconds=1)),
    )
    conn.execute(
        """insert into trading.cash_ledger (id, account_id, entry_type, amount, order_id)
           values (%s, %s, 'fee', -0.50, %s)""",
        (uuid.uuid4(), account, order_id),
    )


def test_two_strategies_on_one_account_see_only_their_own(
    api: Api, trader: Trader, other: Trader, core_env: dict[str, Any]
) -> None:
    mine, theirs = _strategy(api, trader, "mine"), _strategy(api, trader, "theirs")
    with psycopg.connect(core_env["dsn"], autocommit=True) as conn:
        _trade(conn, trader.account_id, mine, 0, "buy", "10", "100")
        _trade(conn, trader.account_id, mine, 1, "sell", "4", "110")
        _trade(conn, trader.account_id, theirs, 2, "buy", "3", "90")
    r = redis.Redis.from_url(core_env["redis_url"])
    r.hset(latest_price_key("ACME"), mapping={"p": "120", "t": str(int(time.time() * 1e6))})

    signals = api.get(f"/v1/strategies/{mine}/signals", headers=trader.key)
    assert signals.status == 200 and [s["order_side"] for s in signals.body["signals"]] == ["sell", "buy"]
    orders = api.get(f"/v1/strategies/{mine}/orders", headers=trader.key).body["orders"]
    assert sorted(o["side"] for o in orders) == ["buy", "sell"]
    fills = api.get(f"/v1/strategies/{mine}/fills", headers=trader.key).body["fills"]
    assert [(f["side"], Decimal(f["qty"])) for f in fills] == [("buy", 10), ("sell", 4)]

    pnl = api.get(f"/v1/strategies/{mine}/pnl", headers=trader.key)
    assert pnl.status == 200, pnl.body
    assert Decimal(pnl.body["realized_pl"]) == Decimal("40.00")  # 4 * (110 - 100)
    assert Decimal(pnl.body["unrealized_pl"]) == Decimal("120.00")  # 6 * (120 - 100)
    assert Decimal(pnl.body["fees"]) == Decimal("1.00")
    assert Decimal(pnl.body["total_pl"]) == Decimal("159.00")
    theirs_pnl = api.get(f"/v1/strategies/{theirs}/pnl", headers=trader.key).body
    assert Decimal(theirs_pnl["unrealized_pl"]) == Decimal("90.00") and Decimal(theirs_pnl["fees"]) == Decimal("0.50")
    assert api.get(f"/v1/strategies/{mine}/pnl", headers=other.key).status == 404
