"""Scheduled execution functions on real servers: order expiry at the session close, and the outbox relay."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
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


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def held(core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any) -> Any:
    """Makes auction orders through the Core API and the executor (which holds them), submitted at a given
    UTC time, with AAPL last traded at 100."""
    set_price("AAPL", "100")

    def make(submitted: str, **order: Any) -> str:
        order_id = str(submit_and_execute(trader, core_env, bindings, qty="2", **order)["id"])
        query(core_env["dsn"], "update trading.orders set submitted_at = %s where id = %s returning id",
              _at(submitted), uuid.UUID(order_id))  # fmt: skip
        return order_id

    return make


def _run(bindings: Bindings, now: str) -> dict[str, int]:
    return dict(call("order_expiry", bindings, events.scheduled_event("expiry", _at(now))))


def test_opg_and_cls_orders_execute_at_the_open_and_close_of_their_session(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, held: Any
) -> None:
    """Mon 2026-03-02: XNYS opens 14:30Z and closes 21:00Z (EST)."""
    moo = held("2026-03-02T05:00:00", time_in_force="opg", client_order_id="moo")
    loo = held("2026-03-02T05:00:00", time_in_force="opg", type="limit", limit_price="50", client_order_id="loo")
    moc = held("2026-03-02T14:00:00", time_in_force="cls", client_order_id="moc")
    dsn = core_env["dsn"]
    # The executor holds them `accepted` (nothing reached the venue, nothing filled; the matcher ignores them).
    assert statuses(dsn, moo, loo, moc) == ["accepted", "accepted", "accepted"]
    assert book(dsn, trader.account_id)["fills"] == []

    assert _run(bindings, "2026-03-02T14:29:59")["auction_filled"] == 0  # before the open
    opened = _run(bindings, "2026-03-02T14:30:20")
    assert (opened["auction_filled"], opened["auction_canceled"]) == (1, 1)
    assert statuses(dsn, moo, loo, moc) == ["filled", "canceled", "accepted"]
    assert _run(bindings, "2026-03-02T14:31:20")["auction_filled"] == 0  # a retried run changes nothing
    updates = trade_events(dsn, trader.account_id)
    assert [e for e in updates if e[0] == "moo"] == [("moo", "new", "new"), ("moo", "fill", "filled")]
    assert [e for e in updates if e[0] == "loo"] == [("loo", "new", "new"), ("loo", "canceled", "canceled")]

    assert _run(bindings, "2026-03-02T20:59:00")["auction_filled"] == 0
    assert _run(bindings, "2026-03-02T21:00:30")["auction_filled"] == 1  # at the close
    assert statuses(dsn, moo, loo, moc) == ["filled", "canceled", "filled"]
    state = book(dsn, trader.account_id)
    assert state["positions"] == {"AAPL": 4}
    assert state["reserved"] == 0
    assert sorted(f["price"] for f in state["fills"]) == [100, 100]


def test_opg_inside_the_refusal_window_is_rejected_and_a_missed_auction_cancels(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, held: Any
) -> None:
    late = held("2026-03-02T15:00:00", time_in_force="opg", client_order_id="late")
    missed = held("2026-03-02T05:00:00", time_in_force="opg", client_order_id="missed")
    dsn = core_env["dsn"]
    result = _run(bindings, "2026-03-02T15:00:30")  # 10:00 ET: the open was 30 minutes ago
    assert (result["auction_rejected"], result["auction_canceled"], result["auction_filled"]) == (1, 1, 0)
    assert statuses(dsn, late, missed) == ["rejected", "canceled"]
    reasons = query(dsn, "select envelope->'data'->'order'->>'client_order_id' as c, envelope->'data'->>'reason' as r"
                    " from trading.outbox where topic = 'orders.events' and key = %s and envelope->'data'->>'event'"
                    " in ('rejected', 'canceled')", trader.account_id)  # fmt: skip
    assert {r["c"]: r["r"] for r in reasons} == {
        "late": "opg orders are not accepted between 09:28 and 19:00 ET",
        "missed": "the auction passed before the order could take part",
    }
    assert book(dsn, trader.account_id)["reserved"] == 0


def test_a_run_before_the_auction_locks_neither_the_waiting_order_nor_its_account(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, held: Any
) -> None:
    """An order waiting for a later session is left alone from the list the run reads (what decides its auction
    never changes): the run does not queue behind a writer holding the account, nor would it block one."""
    waiting = held("2026-03-02T05:00:00", time_in_force="opg", client_order_id="waiting")
    dsn = core_env["dsn"]
    with psycopg.connect(dsn) as writer, ThreadPoolExecutor(1) as pool:
        writer.execute("select id from core.accounts where id = %s for update", (uuid.UUID(str(trader.account_id)),))
        run = pool.submit(_run, bindings, "2026-03-02T14:29:59")  # a minute before the open
        try:
            result = run.result(timeout=60)  # it used to wait here for the writer's lock, however long it held it
        finally:
            writer.rollback()
    assert (result["auction_filled"], result["auction_canceled"], result["auction_rejected"]) == (0, 0, 0)
    assert statuses(dsn, waiting) == ["accepted"]
    assert _run(bindings, "2026-03-02T14:30:20")["auction_filled"] == 1  # and at the open it is decided as before
