"""Scheduled execution functions on real servers: order expiry at the session close, and the outbox relay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.core_api import Trader
from support.execution import book, call, query, submit_and_execute, trade_events
from tradeplane_local import events
from tradeplane_tools.manifest import Bindings

pytestmark = pytest.mark.integration


def resting(trader: Trader, core_env: dict[str, Any], bindings: Bindings, **order: Any) -> str:
    order = {"qty": "2", "type": "limit", "limit_price": "50", **order}
    return str(submit_and_execute(trader, core_env, bindings, **order)["id"])


def statuses(dsn: str, *ids: str) -> list[str]:
    rows = query(dsn, "select id, status from trading.orders where id = any(%s)", [uuid.UUID(i) for i in ids])
    by_id = {str(r["id"]): r["status"] for r in rows}
    return [by_id[i] for i in ids]


def test_day_orders_expire_after_the_session_close_gtc_and_crypto_do_not(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "100")
    day = resting(trader, core_env, bindings, time_in_force="day", client_order_id="day")
    gtc = resting(trader, core_env, bindings, time_in_force="gtc", client_order_id="gtc")
    crypto = resting(trader, core_env, bindings, time_in_force="day", client_order_id="crypto")
    query(core_env["dsn"], "update trading.orders set asset_class = 'crypto' where id = %s returning id",
          uuid.UUID(crypto))  # fmt: skip
    dsn = core_env["dsn"]
    assert book(dsn, trader.account_id)["reserved"] == 300

    # Before any close after the orders were placed, nothing expires.
    assert call("order_expiry", bindings, events.scheduled_event("expiry", datetime.now(UTC)))["expired"] == 0
    # A week later at least one session has closed since.
    later = events.scheduled_event("expiry", datetime.now(UTC) + timedelta(days=7))
    assert call("order_expiry", bindings, later)["expired"] == 1
    assert statuses(dsn, day, gtc, crypto) == ["expired", "new", "new"]
    assert book(dsn, trader.account_id)["reserved"] == 200
    assert trade_events(dsn, trader.account_id)[-1] == ("day", "expired", "expired")
    assert call("order_expiry", bindings, later)["expired"] == 0  # a retried schedule changes nothing


def test_relay_publishes_trade_updates_a_crash_left_behind_in_order(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "100")
    resting(trader, core_env, bindings, type="market", limit_price=None, client_order_id="relay-tu")
    dsn = core_env["dsn"]
    query(dsn, "update trading.outbox set published_at = null where key = %s returning id", trader.account_id)
    result = call("outbox_relay", bindings, events.scheduled_event("relay"), TP_RELAY_MIN_AGE_S="0")
    assert result["published"] >= 3  # the intent, `new` and `fill`
    left = query(dsn, "select count(*) as n from trading.outbox where published_at is null")
    assert left[0]["n"] == 0
