"""The executor handler on real Postgres, Redis and Kafka: orders submitted through the Core API become fills."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from support.core_api import Api, Trader
from support.execution import (
    book,
    call,
    msk_event,
    outbox_envelopes,
    query,
    submit,
    submit_and_execute,
    trade_events,
)
from tradeplane_tools.manifest import Bindings

pytestmark = pytest.mark.integration


def execute(core_env: dict[str, Any], bindings: Bindings, trader: Trader, *, skip: int = 0) -> dict[str, int]:
    """Run the executor over the account's intents (after the first `skip`), as Kafka would deliver them."""
    intents = outbox_envelopes(core_env["dsn"], trader.account_id)[skip:]
    return dict(call("executor", bindings, msk_event(intents, core_env["kafka"])))


def replace(trader: Trader, order_id: str, **change: str) -> Any:
    reply = trader.api.patch(f"/v2/orders/{order_id}", change, headers=trader.key)
    assert reply.status == 200, reply.body
    return reply


def order_row(dsn: str, order_id: str) -> dict[str, Any]:
    return query(dsn, "select * from trading.orders where id = %s", uuid.UUID(order_id))[0]


def test_market_buy_fills_books_position_cash_and_confirms(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "190.00")
    order = submit(trader, client_order_id="mkt-1")
    assert execute(core_env, bindings, trader) == {"applied": 1, "duplicates": 0, "rejected": 0}
    row = order_row(core_env["dsn"], order["id"])
    assert (row["status"], row["filled_qty"], row["filled_avg_price"]) == ("filled", Decimal(10), Decimal(190))
    state = book(core_env["dsn"], trader.account_id)
    assert state["positions"] == {"AAPL": Decimal(10)}
    assert state["cash"] == Decimal(100000) - Decimal(1900)
    assert state["reserved"] == 0
    assert trade_events(core_env["dsn"], trader.account_id) == [("mkt-1", "new", "new"), ("mkt-1", "fill", "filled")]
    unpublished = query(core_env["dsn"], "select count(*) as n from trading.outbox where published_at is null")
    assert unpublished[0]["n"] == 0  # published to orders.events after the commit and marked


def test_the_same_batch_delivered_twice_fills_once(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("MSFT", "400")
    for n in range(3):
        submit(trader, symbol="MSFT", qty="1", client_order_id=f"twice-{n}")
    assert execute(core_env, bindings, trader)["applied"] == 3
    assert execute(core_env, bindings, trader) == {"applied": 0, "duplicates": 3, "rejected": 0}
    state = book(core_env["dsn"], trader.account_id)
    assert len(state["fills"]) == 3 and state["positions"] == {"MSFT": Decimal(3)}
    assert state["cash"] == Decimal(100000) - Decimal(1200)


def test_market_order_without_a_price_is_rejected_with_the_reason_and_releases_nothing_twice(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader
) -> None:
    order = submit_and_execute(trader, core_env, bindings, symbol="KO", client_order_id="nopx")
    assert order_row(core_env["dsn"], order["id"])["status"] == "rejected"
    data = query(
        core_env["dsn"],
        "select envelope->'data' as d from trading.outbox where topic = 'orders.events' and key = %s",
        trader.account_id,
    )
    assert [(d["d"]["event"], d["d"]["reason"]) for d in data] == [
        ("rejected", "no price available for a market order")
    ]
    assert book(core_env["dsn"], trader.account_id)["cash"] == Decimal(100000)


def test_limit_rests_then_cancel_goes_pending_then_canceled_and_releases_the_reservation(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "190")
    order = submit_and_execute(trader, core_env, bindings, type="limit", limit_price="150", client_order_id="lim-1")
    assert order_row(core_env["dsn"], order["id"])["status"] == "new"
    assert book(core_env["dsn"], trader.account_id)["reserved"] == Decimal(1500)
    assert trader.api.delete(f"/v2/orders/{order['id']}", headers=trader.key).status == 204
    assert order_row(core_env["dsn"], order["id"])["status"] == "pending_cancel"
    execute(core_env, bindings, trader, skip=1)
    assert order_row(core_env["dsn"], order["id"])["status"] == "canceled"
    assert book(core_env["dsn"], trader.account_id)["reserved"] == 0
    assert [e for _, e, _ in trade_events(core_env["dsn"], trader.account_id)] == ["new", "canceled"]


def test_a_cancel_that_arrives_after_the_fill_is_rejected(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "190")
    order = submit_and_execute(
        trader, core_env, bindings, type="limit", limit_price="150", client_order_id="late-cancel"
    )
    assert trader.api.delete(f"/v2/orders/{order['id']}", headers=trader.key).status == 204
    # The fill took the row lock first (as the matcher would): the order is filled when the cancel is applied.
    query_fill = "update trading.orders set status = 'filled', filled_qty = qty where id = %s returning id"
    query(core_env["dsn"], query_fill, uuid.UUID(order["id"]))
    execute(core_env, bindings, trader, skip=1)
    assert order_row(core_env["dsn"], order["id"])["status"] == "filled"
    assert trade_events(core_env["dsn"], trader.account_id)[-1] == ("late-cancel", "order_cancel_rejected", "filled")


def test_ioc_that_cannot_fill_is_canceled(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "190")
    order = submit_and_execute(
        trader, core_env, bindings, type="limit", limit_price="100", time_in_force="ioc", client_order_id="ioc-1"
    )
    assert order_row(core_env["dsn"], order["id"])["status"] == "canceled"
    assert book(core_env["dsn"], trader.account_id)["reserved"] == 0


def test_replace_marks_the_old_replaced_and_works_the_new_one(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "190")
    old = submit_and_execute(trader, core_env, bindings, type="limit", limit_price="150", client_order_id="rep-old")
    reply = replace(trader, old["id"], limit_price="195", client_order_id="rep-new")
    execute(core_env, bindings, trader, skip=1)
    assert order_row(core_env["dsn"], old["id"])["status"] == "replaced"
    assert order_row(core_env["dsn"], reply.body["id"])["status"] == "filled"
    events = trade_events(core_env["dsn"], trader.account_id)
    assert events[1:] == [("rep-old", "replaced", "replaced"), ("rep-new", "new", "new"), ("rep-new", "fill", "filled")]


def test_bracket_parent_fill_activates_its_legs(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "190")
    order = submit(
        trader,
        order_class="bracket",
        take_profit={"limit_price": "200"},
        stop_loss={"stop_price": "180"},
        client_order_id="brk-1",
    )
    execute(core_env, bindings, trader)
    legs = query(core_env["dsn"], "select leg_role, status from trading.orders where parent_id = %s order by leg_role",
                 uuid.UUID(order["id"]))  # fmt: skip
    assert [(r["leg_role"], r["status"]) for r in legs] == [("stop_loss", "new"), ("take_profit", "new")]


def test_api_guard_other_accounts_are_untouched(api: Api, core_env: dict[str, Any]) -> None:
    # Every fill above belongs to the account whose order it was.
    rows = query(
        core_env["dsn"],
        "select count(*) as n from trading.fills f join trading.orders o on o.id = f.order_id"
        " where o.account_id <> f.account_id",
    )
    assert rows[0]["n"] == 0


def test_a_mixed_batch_keeps_its_order_across_runs_and_single_intents(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "190")
    resting = submit(trader, type="limit", limit_price="150", client_order_id="mix-rest")
    submit(trader, qty="1", client_order_id="mix-mkt")
    assert execute(core_env, bindings, trader)["applied"] == 2  # one run of two plain submissions
    assert trader.api.delete(f"/v2/orders/{resting['id']}", headers=trader.key).status == 204
    submit(trader, qty="2", client_order_id="mix-after")
    submit(trader, qty="3", client_order_id="mix-last", order_class="oto", stop_loss={"stop_price": "150"})
    # The cancel (alone), then a plain submission (a run of one), then an OTO order (alone).
    assert execute(core_env, bindings, trader, skip=2) == {"applied": 3, "duplicates": 0, "rejected": 0}
    events = [(c, e) for c, e, _ in trade_events(core_env["dsn"], trader.account_id)]
    assert events[:4] == [("mix-rest", "new"), ("mix-mkt", "new"), ("mix-mkt", "fill"), ("mix-rest", "canceled")]
    assert events[4:7] == [("mix-after", "new"), ("mix-after", "fill"), ("mix-last", "new")]
    assert book(core_env["dsn"], trader.account_id)["positions"] == {"AAPL": Decimal(6)}


def test_a_replace_that_arrives_after_the_fill_is_rejected(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "190")
    old = submit_and_execute(trader, core_env, bindings, type="limit", limit_price="150", client_order_id="late-rep")
    reply = replace(trader, old["id"], limit_price="151", client_order_id="late-rep-new")
    assert order_row(core_env["dsn"], old["id"])["status"] == "pending_replace"
    # A venue filled the old order before it took the replace (the state machine allows it).
    filled = "update trading.orders set status = 'filled', filled_qty = qty where id = %s returning id"
    query(core_env["dsn"], filled, uuid.UUID(old["id"]))
    execute(core_env, bindings, trader, skip=1)
    assert order_row(core_env["dsn"], reply.body["id"])["status"] == "rejected"
    events = trade_events(core_env["dsn"], trader.account_id)
    assert events[-2:] == [("late-rep-new", "rejected", "rejected"), ("late-rep", "order_replace_rejected", "filled")]
    assert book(core_env["dsn"], trader.account_id)["reserved"] == 0


def test_a_notional_market_order_buys_fractional_shares(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("SPY", "600")
    order = submit_and_execute(
        trader, core_env, bindings, symbol="SPY", qty=None, notional="1000", client_order_id="notional"
    )
    row = order_row(core_env["dsn"], order["id"])
    assert (row["status"], row["filled_qty"]) == ("filled", Decimal("1.66666666"))
    assert book(core_env["dsn"], trader.account_id)["cash"] == Decimal(100000) - Decimal("1000.00")


def test_a_runs_trade_updates_are_stored_whole_and_in_the_order_given(core_env: dict[str, Any]) -> None:
    """`outbox.stage_many` (the fast path's one statement): every envelope whole, `seq` in the run's order."""
    import psycopg
    from psycopg.rows import dict_row
    from tradeplane import outbox
    from tradeplane.envelope import Envelope

    key = str(uuid.uuid4())
    tricky = ['quote " and backslash \\', "unicode é ✓", "newline\nand tab\t", "{[,]}"]
    rows = [
        ("orders.events", key, Envelope.new("order.trade_update", {"n": n, "text": tricky[n % 4]}, producer="test"))
        for n in range(40)
    ]
    rows.insert(7, ("orders.events", key, rows[3][2].model_copy(update={"id": str(uuid.uuid4())})))
    with psycopg.connect(core_env["dsn"], row_factory=dict_row) as conn:
        staged = outbox.stage_many(conn, rows)
    assert [(s.topic, s.key, s.envelope) for s in staged] == rows
    stored = query(
        core_env["dsn"], "select id, topic, key, envelope from trading.outbox where key = %s order by seq", key
    )
    assert [(str(r["id"]), r["topic"], r["key"], r["envelope"]) for r in stored] == [
        (env.id, topic, k, json.loads(env.to_json())) for topic, k, env in rows
    ]


def test_each_order_gets_one_published_line_naming_its_trade_updates(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    """The executor logs one "event published" line per order of a batch, with that order's trade update ids
    in the order staged: a trace by order id finds every event as it found one line per event before."""
    import io

    from tradeplane.observability import logger

    set_price("AAPL", "190.00")
    orders = [submit(trader, qty="1", client_order_id=f"line-{n}") for n in range(3)]
    orders.append(submit(trader, qty="1", type="limit", limit_price="100", client_order_id="line-rests"))
    buf, handler = io.StringIO(), logger.registered_handler
    old = handler.setStream(buf)  # type: ignore[attr-defined]
    try:
        assert execute(core_env, bindings, trader)["applied"] == 4
    finally:
        handler.setStream(old)  # type: ignore[attr-defined]
    lines = [json.loads(x) for x in buf.getvalue().splitlines() if '"event published"' in x]
    staged = outbox_envelopes(core_env["dsn"], trader.account_id, "orders.events")
    expected = {o["id"]: [e.id for e in staged if e.data["order"]["id"] == o["id"]] for o in orders}
    assert [len(ids) for ids in expected.values()] == [2, 2, 2, 1]  # new + fill; the resting limit: new
    assert {line["order_id"]: line.get("event_ids") or [line["event_id"]] for line in lines} == expected
    assert len(lines) == len(orders)
    for line in lines:
        assert (line["event_type"], line["topic"], line["account_id"]) == (
            "order.trade_update", "orders.events", trader.account_id,
        )  # fmt: skip
        assert ("event_id" in line) != ("event_ids" in line)  # one event: `event_id`, as a single publish writes
