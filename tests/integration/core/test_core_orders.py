"""Orders on /v2 against the real servers: acceptance (order + reservation + outbox, then Kafka), idempotency,
pre-trade risk rules, reads with Alpaca's filters, cancel, replace, legs, and parallel submits."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import redis
from psycopg.rows import dict_row
from support.core_api import Api, Trader

pytestmark = pytest.mark.integration


def limit_buy(qty: Any = 1, price: Any = "100", **extra: Any) -> dict[str, Any]:
    return {
        "symbol": "AAPL",
        "qty": qty,
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "limit_price": price,
        **extra,
    }


def db_rows(core_env: dict[str, Any], sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(core_env["dsn"], row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def risk(api: Api, trader: Trader, **settings: Any) -> None:
    reply = api.put(f"/v1/accounts/{trader.account_id}/risk-settings", settings, headers=trader.bearer)
    assert reply.status == 200, reply.body


def consume_envelope(bootstrap: str, event_id: str, timeout_s: float = 20) -> dict[str, Any] | None:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "t-" + uuid.uuid4().hex, "enable.auto.commit": False}
    )
    try:
        meta = consumer.list_topics("orders.submitted", timeout=10)
        consumer.assign([TopicPartition("orders.submitted", p, 0) for p in meta.topics["orders.submitted"].partitions])
        import time

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            envelope = json.loads(msg.value() or b"{}")
            if envelope.get("id") == event_id:
                return {"key": (msg.key() or b"").decode(), **envelope}
    finally:
        consumer.close()
    return None


def test_submit_accepts_reserves_and_publishes(api: Api, trader: Trader, core_env: dict[str, Any]) -> None:
    reply = api.post("/v2/orders", limit_buy(qty=2.0, price=150.25, client_order_id="first"), headers=trader.key)
    assert reply.status == 200, reply.body
    order = reply.body
    uuid.UUID(order["id"])
    assert order["status"] == "accepted" and order["client_order_id"] == "first" and order["qty"] == "2"
    assert order["limit_price"] == "150.25" and order["order_class"] == "simple" and order["filled_qty"] == "0"
    assert order["created_at"].endswith("Z") and order["extended_hours"] is False and order["legs"] is None
    reservation = db_rows(
        core_env, "select amount, released_at from trading.reservations where order_id = %s", order["id"]
    )
    assert reservation == [{"amount": Decimal("300.50"), "released_at": None}]
    outbox = db_rows(
        core_env,
        "select id, topic, key, published_at from trading.outbox where envelope->'data'->>'order_id' = %s",
        order["id"],
    )
    assert len(outbox) == 1 and outbox[0]["topic"] == "orders.submitted" and outbox[0]["key"] == trader.account_id
    assert outbox[0]["published_at"] is not None  # published right after the commit
    envelope = consume_envelope(core_env["kafka"], str(outbox[0]["id"]))
    assert envelope is not None and envelope["key"] == trader.account_id and envelope["type"] == "order.submitted"
    assert envelope["data"]["reserved"] == "300.50" and envelope["data"]["qty"] == "2.00000000"
    account = api.get("/v2/account", headers=trader.key).body
    assert account["cash"] == "100000.00" and account["buying_power"] == "99699.50"


def test_same_client_order_id_returns_the_original_and_a_different_body_is_422(api: Api, trader: Trader) -> None:
    first = api.post("/v2/orders", limit_buy(client_order_id="same"), headers=trader.key)
    again = api.post("/v2/orders", limit_buy(qty="1", price=100.0, client_order_id="same"), headers=trader.key)
    assert first.status == again.status == 200 and first.body["id"] == again.body["id"]
    other = api.post("/v2/orders", limit_buy(qty=2, client_order_id="same"), headers=trader.key)
    assert other.status == 422 and other.body["code"] == 42210000
    assert len(api.get("/v2/orders", headers=trader.key).body) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"symbol": "AAPL", "side": "buy", "type": "market", "time_in_force": "day"},  # no qty
        limit_buy(notional="10"),  # qty and notional
        {"symbol": "AAPL", "qty": 1, "side": "buy", "type": "limit", "time_in_force": "day"},  # no limit price
        limit_buy(qty="-1"),
        limit_buy(qty="abc"),
        limit_buy(price="1e999"),
        limit_buy(client_order_id="x" * 49),
        limit_buy(time_in_force="forever"),
        {**limit_buy(), "type": "trailing_stop"},
        limit_buy(order_class="bracket", take_profit={"limit_price": 110}),
        {"symbol": "aapl; drop table", "qty": 1, "side": "buy", "type": "market", "time_in_force": "day"},
    ],
)
def test_bad_orders_are_422_and_change_nothing(api: Api, trader: Trader, body: dict[str, Any]) -> None:
    reply = api.post("/v2/orders", body, headers=trader.key)
    assert reply.status == 422 and reply.headers["content-type"] == "application/problem+json"
    assert api.get("/v2/orders", headers=trader.key, query={"status": "all"}).body == []


def test_buying_power_is_cash_minus_open_buy_reservations(api: Api, core_env: dict[str, Any]) -> None:
    from support.core_api import new_trader

    small = new_trader(api, cash="1000")
    assert api.post("/v2/orders", limit_buy(qty=6, price=100), headers=small.key).status == 200
    reply = api.post("/v2/orders", limit_buy(qty=5, price=100), headers=small.key)
    assert reply.status == 403 and reply.body["code"] == 40310000 and reply.body["rule"] == "buying_power"
    assert reply.body["message"] == "insufficient buying power"
    assert api.post("/v2/orders", limit_buy(qty=4, price=100), headers=small.key).status == 200
    assert api.get("/v2/account", headers=small.key).body["buying_power"] == "0.00"


def test_parallel_submits_never_exceed_buying_power(api: Api, core_env: dict[str, Any]) -> None:
    from support.core_api import new_trader

    small = new_trader(api, cash="1000")
    statuses: list[int] = []
    lock = threading.Lock()

    def submit() -> None:
        from support.core_api import Api as Fresh

        reply = Fresh().post("/v2/orders", limit_buy(qty=1, price="90"), headers=small.key)
        with lock:
            statuses.append(reply.status)

    threads = [threading.Thread(target=submit) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 11 + [403] * 5  # 11 x 90 = 990 <= 1000 < 12 x 90
    reserved = db_rows(
        core_env, "select sum(amount) as s from trading.reservations where account_id = %s", small.account_id
    )
    assert reserved[0]["s"] == Decimal("990.00")


def test_kill_switch_blocks_orders(api: Api, trader: Trader) -> None:
    assert (
        api.put(
            f"/v1/accounts/{trader.account_id}/kill-switch", {"trading_blocked": True}, headers=trader.bearer
        ).status
        == 200
    )
    reply = api.post("/v2/orders", limit_buy(), headers=trader.key)
    assert reply.status == 403 and reply.body["rule"] == "trading_blocked"
    assert api.get("/v2/account", headers=trader.key).body["trading_blocked"] is True
    api.put(f"/v1/accounts/{trader.account_id}/kill-switch", {"trading_blocked": False}, headers=trader.bearer)
    assert api.post("/v2/orders", limit_buy(), headers=trader.key).status == 200


@pytest.mark.parametrize(
    ("settings", "order", "rule", "status"),
    [
        ({"tradable_symbols": ["MSFT"]}, limit_buy(), "tradable_asset", 422),
        ({"max_order_notional": "500"}, limit_buy(qty=6), "max_order_notional", 403),
        ({"max_position_qty": "5"}, limit_buy(qty=6), "max_position_qty", 403),
        ({"max_orders_per_minute": 1}, limit_buy(), "max_orders_per_minute", 403),
        (
            {},
            {"symbol": "AAPL", "qty": 1, "side": "sell", "type": "market", "time_in_force": "day"},
            "no_shorting",
            403,
        ),
        ({"price_band_pct": "5"}, limit_buy(price="120"), "price_band", 422),
    ],
)
def test_each_risk_rule_rejects_with_its_name(
    api: Api,
    trader: Trader,
    core_env: dict[str, Any],
    settings: dict[str, Any],
    order: dict[str, Any],
    rule: str,
    status: int,
) -> None:
    risk(api, trader, **settings)
    redis.Redis.from_url(core_env["redis_url"]).hset("px:AAPL", mapping={"p": "100", "t": 1})
    if rule == "max_orders_per_minute":
        assert api.post("/v2/orders", limit_buy(), headers=trader.key).status == 200
    before = len(api.get("/v2/orders", headers=trader.key).body)
    reply = api.post("/v2/orders", order, headers=trader.key)
    assert reply.status == status and reply.body["rule"] == rule and reply.body["message"]
    assert len(api.get("/v2/orders", headers=trader.key).body) == before
    risk(api, trader)  # back to no limits: the same order passes (or, for the sell, needs shorting)
    if rule != "no_shorting":
        assert api.post("/v2/orders", order, headers=trader.key).status == 200
    else:
        risk(api, trader, shorting_enabled=True)
        assert api.post("/v2/orders", order, headers=trader.key).status == 200


def test_only_active_tradable_instruments_are_accepted(api: Api, trader: Trader, core_env: dict[str, Any]) -> None:
    unknown = api.post("/v2/orders", {**limit_buy(), "symbol": "ZZZZ"}, headers=trader.key)
    assert unknown.status == 422 and unknown.body["rule"] == "tradable_asset"
    assert unknown.body["message"] == 'asset "ZZZZ" not found'
    with psycopg.connect(core_env["dsn"]) as conn:
        conn.execute("update market.instruments set status = 'inactive' where symbol = 'INTC'")
        conn.execute("update market.instruments set tradable = false where symbol = 'KO'")
    try:
        for symbol in ("INTC", "KO"):
            refused = api.post("/v2/orders", {**limit_buy(), "symbol": symbol}, headers=trader.key)
            assert refused.status == 422 and refused.body["message"] == f'asset "{symbol}" is not tradable'
    finally:
        with psycopg.connect(core_env["dsn"]) as conn:
            conn.execute(
                "update market.instruments set status = 'active', tradable = true where symbol in ('INTC', 'KO')"
            )
    assert db_rows(core_env, "select 1 from trading.orders where account_id = %s", trader.account_id) == []
    assert api.post("/v2/orders", {**limit_buy(), "symbol": "INTC"}, headers=trader.key).status == 200


def test_market_order_without_a_price_is_accepted_unreserved(
    api: Api, trader: Trader, core_env: dict[str, Any]
) -> None:
    redis.Redis.from_url(core_env["redis_url"]).delete("px:VTI")
    reply = api.post(
        "/v2/orders",
        {"symbol": "VTI", "qty": 1, "side": "buy", "type": "market", "time_in_force": "day"},
        headers=trader.key,
    )
    assert reply.status == 200
    assert (
        db_rows(core_env, "select amount from trading.reservations where order_id = %s", reply.body["id"])[0]["amount"]
        == 0
    )


def test_reads_with_filters_and_another_accounts_order_is_404(api: Api, trader: Trader, other: Trader) -> None:
    a = api.post("/v2/orders", limit_buy(client_order_id="a"), headers=trader.key).body
    b = api.post("/v2/orders", {**limit_buy(client_order_id="b"), "symbol": "MSFT"}, headers=trader.key).body
    listed = api.get("/v2/orders", headers=trader.key, query={"status": "open", "direction": "asc"}).body
    assert [o["id"] for o in listed] == [a["id"], b["id"]]
    assert [o["id"] for o in api.get("/v2/orders", headers=trader.key, query={"symbols": "MSFT,TSLA"}).body] == [
        b["id"]
    ]
    assert api.get("/v2/orders", headers=trader.key, query={"limit": 1}).body[0]["id"] == b["id"]
    assert api.get("/v2/orders", headers=trader.key, query={"status": "closed"}).body == []
    assert api.get("/v2/orders", headers=trader.key, query={"side": "sell"}).body == []
    assert api.get("/v2/orders", headers=trader.key, query={"nested": "True"}).status == 200
    assert api.get("/v2/orders", headers=trader.key, query={"limit": 0}).status == 422
    assert api.get(f"/v2/orders/{a['id']}", headers=trader.key).body["client_order_id"] == "a"
    assert (
        api.get("/v2/orders:by_client_order_id", headers=trader.key, query={"client_order_id": "b"}).body["id"]
        == b["id"]
    )
    assert api.get(f"/v2/orders/{a['id']}", headers=other.key).status == 404
    assert api.get("/v2/orders:by_client_order_id", headers=other.key, query={"client_order_id": "b"}).status == 404
    assert api.delete(f"/v2/orders/{a['id']}", headers=other.key).status == 404
    assert api.get(f"/v2/orders/{uuid.uuid4()}", headers=trader.key).body["code"] == 40410000


def test_cancel_releases_the_reservation_and_cancel_all_answers_207(
    api: Api, trader: Trader, core_env: dict[str, Any]
) -> None:
    a = api.post("/v2/orders", limit_buy(), headers=trader.key).body
    assert api.delete(f"/v2/orders/{a['id']}", headers=trader.key).status == 204
    got = api.get(f"/v2/orders/{a['id']}", headers=trader.key).body
    assert got["status"] == "canceled" and got["canceled_at"] is not None
    assert db_rows(core_env, "select released_at from trading.reservations where order_id = %s", a["id"])[0][
        "released_at"
    ]
    again = api.delete(f"/v2/orders/{a['id']}", headers=trader.key)
    assert again.status == 422 and again.body["code"] == 42210000
    ids = {api.post("/v2/orders", limit_buy(), headers=trader.key).body["id"] for _ in range(2)}
    reply = api.delete("/v2/orders", headers=trader.key)
    assert reply.status == 207 and {r["id"] for r in reply.body} == ids and {r["status"] for r in reply.body} == {200}
    assert api.get("/v2/account", headers=trader.key).body["buying_power"] == "100000.00"


def test_replace_creates_a_new_order_that_replaces_the_old(api: Api, trader: Trader) -> None:
    old = api.post("/v2/orders", limit_buy(qty=1, price=100), headers=trader.key).body
    new = api.patch(f"/v2/orders/{old['id']}", {"qty": "3", "limit_price": 99.5}, headers=trader.key)
    assert new.status == 200 and new.body["replaces"] == old["id"] and new.body["qty"] == "3"
    assert new.body["limit_price"] == "99.5"
    replaced = api.get(f"/v2/orders/{old['id']}", headers=trader.key).body
    assert replaced["status"] == "replaced" and replaced["replaced_by"] == new.body["id"]
    assert api.get("/v2/account", headers=trader.key).body["buying_power"] == "99701.50"
    assert api.patch(f"/v2/orders/{old['id']}", {"qty": 2}, headers=trader.key).status == 422
    assert api.patch(f"/v2/orders/{new.body['id']}", {}, headers=trader.key).status == 422


def test_replacing_an_order_a_venue_holds_leaves_it_pending_replace(
    api: Api, trader: Trader, core_env: dict[str, Any]
) -> None:
    old = api.post("/v2/orders", limit_buy(qty=1, price=100), headers=trader.key).body
    with psycopg.connect(core_env["dsn"]) as conn:  # the executor's part: the venue acknowledged it
        conn.execute("update trading.orders set status = 'new' where id = %s", (old["id"],))
    new = api.patch(f"/v2/orders/{old['id']}", {"qty": "2"}, headers=trader.key)
    assert new.status == 200 and new.body["replaces"] == old["id"] and new.body["status"] == "accepted"
    waiting = api.get(f"/v2/orders/{old['id']}", headers=trader.key).body
    assert waiting["status"] == "pending_replace" and waiting["replaced_by"] == new.body["id"]
    assert waiting["replaced_at"] is None  # set when the venue confirms
    open_ids = {o["id"] for o in api.get("/v2/orders", headers=trader.key, query={"status": "open"}).body}
    assert {old["id"], new.body["id"]} <= open_ids
    # One replacement at a time: the old order cannot be replaced again while the venue decides.
    assert api.patch(f"/v2/orders/{old['id']}", {"qty": 3}, headers=trader.key).status == 422
    # The executor learns both ids and what the book now says of the old order.
    outbox = db_rows(
        core_env,
        "select id, envelope from trading.outbox where envelope->>'type' = 'order.replace_requested'"
        " and envelope->'data'->>'order_id' = %s",
        new.body["id"],
    )
    assert len(outbox) == 1
    data = outbox[0]["envelope"]["data"]
    assert data["replaces"] == old["id"] and data["replaced_status"] == "pending_replace"
    envelope = consume_envelope(core_env["kafka"], str(outbox[0]["id"]))
    assert envelope is not None and envelope["data"]["replaced_status"] == "pending_replace"


def test_replacing_an_order_no_venue_holds_says_replaced_to_the_executor(
    api: Api, trader: Trader, core_env: dict[str, Any]
) -> None:
    old = api.post("/v2/orders", limit_buy(), headers=trader.key).body
    new = api.patch(f"/v2/orders/{old['id']}", {"qty": "2"}, headers=trader.key).body
    replaced = api.get(f"/v2/orders/{old['id']}", headers=trader.key).body
    assert replaced["status"] == "replaced" and replaced["replaced_at"] is not None
    rows = db_rows(core_env, "select envelope from trading.outbox where envelope->'data'->>'order_id' = %s", new["id"])
    assert rows[0]["envelope"]["data"]["replaced_status"] == "replaced"


def test_bracket_legs_are_held_child_orders(api: Api, trader: Trader) -> None:
    body = limit_buy(
        qty=2,
        order_class="bracket",
        take_profit={"limit_price": "120"},
        stop_loss={"stop_price": "90", "limit_price": "89"},
    )
    order = api.post("/v2/orders", body, headers=trader.key).body
    legs = order["legs"]
    assert [(leg["side"], leg["type"], leg["status"]) for leg in legs] == [
        ("sell", "limit", "held"),
        ("sell", "stop_limit", "held"),
    ]
    nested = api.get("/v2/orders", headers=trader.key, query={"nested": "true"}).body
    assert len(nested) == 1 and len(nested[0]["legs"]) == 2
    flat = api.get("/v2/orders", headers=trader.key).body
    assert len(flat) == 3
    assert api.delete(f"/v2/orders/{order['id']}", headers=trader.key).status == 204
    assert {leg["status"] for leg in api.get(f"/v2/orders/{order['id']}", headers=trader.key).body["legs"]} == {
        "canceled"
    }
