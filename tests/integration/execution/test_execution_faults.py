"""Faults that must lose and duplicate nothing, on the harness's real PostgreSQL and Kafka.

- a crash after the database commit and before the Kafka offset commit: the redelivered batch changes nothing;
- a crash after the Core API accepted an order and before it published it: the relay publishes it, it fills once;
- the executor and the matcher working one account at once (a property test over generated order mixes):
  cash moves by the signed fill notional minus fees, the position is the signed sum of fills, and no order
  fills beyond its quantity.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.core_api import Api, Trader, new_trader
from support.execution import as_function, at_once, book, call, list_instrument, outbox_envelopes, query, submit
from tradeplane import kafka_producer
from tradeplane.contracts.topics import ORDERS_SUBMITTED
from tradeplane.envelope import Envelope
from tradeplane.fill_model import FeeSchedule, FillConfig
from tradeplane_local import events
from tradeplane_tools.manifest import Bindings

pytestmark = pytest.mark.integration


def _records(consumer: Consumer, want: int) -> list[events.KafkaRecord]:
    out: list[events.KafkaRecord] = []
    for _ in range(100):
        msg = consumer.poll(0.1)
        if msg is not None and not msg.error():
            out.append(events.KafkaRecord(msg.topic(), msg.partition(), msg.offset(), 0, msg.key(), msg.value()))
        if len(out) >= want:
            break
    return out


def _consumer(bootstrap: str, topic: str, group: str) -> Consumer:
    """Explicit assignment from the group's committed offset, as the local Kafka source does."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    committed = consumer.committed([TopicPartition(topic, 0)], timeout=10)[0].offset
    consumer.assign([TopicPartition(topic, 0, committed if committed >= 0 else 0)])
    return consumer


def test_crash_after_db_commit_before_offset_commit_changes_nothing_on_redelivery(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any, new_topic: Callable[..., str]
) -> None:
    set_price("AAPL", "100")
    for n in range(3):
        submit(trader, client_order_id=f"crash-{n}")
    topic, group, bootstrap = new_topic("intents"), f"g-{uuid.uuid4().hex[:8]}", core_env["kafka"]
    producer = Producer({"bootstrap.servers": bootstrap})
    for env in outbox_envelopes(core_env["dsn"], trader.account_id):
        producer.produce(topic, key=trader.account_id.encode(), value=env.to_json(), partition=0)
    assert producer.flush(10) == 0

    first = _consumer(bootstrap, topic, group)
    batch = _records(first, 3)
    assert call("executor", bindings, events.msk_event(batch, bootstrap))["applied"] == 3
    first.close()  # the crash: effects committed in Postgres, the offset never committed
    after_first = book(core_env["dsn"], trader.account_id)

    second = _consumer(bootstrap, topic, group)
    again = _records(second, 3)
    assert [r.offset for r in again] == [r.offset for r in batch]  # the same records come back
    assert call("executor", bindings, events.msk_event(again, bootstrap)) == {
        "applied": 0,
        "duplicates": 3,
        "rejected": 0,
    }
    second.commit(offsets=[TopicPartition(topic, 0, again[-1].offset + 1)], asynchronous=False)
    second.close()
    assert book(core_env["dsn"], trader.account_id) == after_first
    assert len(after_first["fills"]) == 3


def _read_from_kafka(bootstrap: str, topic: str, event_id: str) -> events.KafkaRecord:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"find-{event_id}", "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    try:
        for _ in range(300):
            msg = consumer.poll(0.05)
            if msg is not None and not msg.error() and json.loads(msg.value())["id"] == event_id:
                return events.KafkaRecord(msg.topic(), msg.partition(), msg.offset(), 0, msg.key(), msg.value())
    finally:
        consumer.close()
    raise AssertionError(f"{event_id} not found on {topic}")


def test_crash_after_accept_before_publish_the_relay_publishes_and_it_fills_once(
    core_env: dict[str, Any],
    bindings: Bindings,
    trader: Trader,
    set_price: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_price("AAPL", "100")

    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise KafkaException("broker unreachable")

    with monkeypatch.context() as mp:
        mp.setattr(kafka_producer, "publish_events", broker_down)  # what outbox.publish calls
        order = submit(trader, client_order_id="relayed")  # accepted: 200 even though publishing failed
    [intent] = outbox_envelopes(core_env["dsn"], trader.account_id)
    unpublished = "select published_at from trading.outbox where id = %s"
    assert query(core_env["dsn"], unpublished, uuid.UUID(intent.id))[0]["published_at"] is None

    relayed = call("outbox_relay", bindings, events.scheduled_event("relay"), TP_RELAY_MIN_AGE_S="0")
    assert relayed["published"] >= 1
    assert query(core_env["dsn"], unpublished, uuid.UUID(intent.id))[0]["published_at"] is not None

    record = _read_from_kafka(core_env["kafka"], ORDERS_SUBMITTED, intent.id)
    assert call("executor", bindings, events.msk_event([record], core_env["kafka"]))["applied"] == 1
    # A second copy (the relay racing a late publisher, or a redelivery) changes nothing.
    assert call("executor", bindings, events.msk_event([record, record], core_env["kafka"]))["duplicates"] == 2
    fills = book(core_env["dsn"], trader.account_id)["fills"]
    assert [(f["order_id"], f["qty"]) for f in fills] == [(uuid.UUID(order["id"]), Decimal(10))]


# ---------------------------------------------------------------- executor and matcher at once

order_mix = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.sampled_from(["market", "limit"]),
        st.integers(min_value=1, max_value=20),
        st.integers(min_value=95, max_value=105),
    ),
    min_size=4,
    max_size=12,
)
tick_prices = st.lists(st.integers(min_value=94, max_value=106), min_size=2, max_size=8)
CONFIG = FillConfig(
    slippage_bps=Decimal(2),
    participation=Decimal("0.5"),
    fees=FeeSchedule(per_share=Decimal("0.01"), minimum=Decimal(1)),
)


def _ticks(symbol: str, prices: list[int]) -> list[Envelope]:
    at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    return [
        Envelope.new(
            "market.tick",
            {"symbol": symbol, "price": str(p), "size": "8", "ts": at, "source": "t"},
            producer="test",
            id=f"tick_{uuid.uuid4().hex}",
        )
        for p in prices
    ]


def _run_concurrently(bindings: Bindings, intents: list[Envelope], ticks: list[Envelope]) -> None:
    """Executor batches in one thread, matcher rounds in another, each with its own connection."""
    from tradeplane import db

    db.close_pools()
    with as_function("executor", bindings, TP_DB_POOL_MAX_SIZE="4") as executor_module:
        from tp_execution.executor import execute
        from tp_execution.matcher import match, price_point
        from tp_execution.paper_venue import PaperVenue
        from tradeplane.latest_price import last_price

        venue = PaperVenue(CONFIG, last_price)
        points = [p for p in map(price_point, ticks) if p is not None]

        def executor_work() -> None:
            for i in range(0, len(intents), 3):
                execute(intents[i : i + 3], venue)

        def matcher_work() -> None:
            for _ in range(3):
                match(points, CONFIG)

        errors = at_once(executor_work, matcher_work, timeout_s=60)
        assert not errors, errors
        match(points, CONFIG)  # once more after both: orders that rested late meet the same prices
        execute(intents, venue)  # and the whole batch redelivered: all duplicates
        assert executor_module is not None
    db.close_pools()


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(order_mix, tick_prices)
def test_executor_and_matcher_at_once_conserve_cash_and_positions(
    api: Api,
    core_env: dict[str, Any],
    bindings: Bindings,
    set_price: Any,
    orders: list[tuple[str, str, int, int]],
    prices: list[int],
) -> None:
    trader = new_trader(api, cash="1000000")
    risk = {"shorting_enabled": True}
    assert api.put(f"/v1/accounts/{trader.account_id}/risk-settings", risk, headers=trader.bearer).status == 200
    symbol = "C" + uuid.uuid4().hex[:7].upper()
    list_instrument(core_env["dsn"], symbol)
    set_price(symbol, "100")
    for side, kind, qty, limit in orders:
        extra = {"limit_price": str(limit), "time_in_force": "gtc"} if kind == "limit" else {}
        submit(trader, symbol=symbol, side=side, type=kind, qty=str(qty), **extra)
    intents = outbox_envelopes(core_env["dsn"], trader.account_id)

    _run_concurrently(bindings, intents, _ticks(symbol, prices))

    dsn, acct = core_env["dsn"], uuid.UUID(trader.account_id)
    fills = query(dsn, "select order_id, side, qty, price, fee from trading.fills where account_id = %s", acct)
    notional = sum(
        ((f["qty"] * f["price"]).quantize(Decimal("0.01")) * (-1 if f["side"] == "buy" else 1) for f in fills),
        Decimal(0),
    )
    fees = sum((f["fee"] for f in fills), Decimal(0))
    moved = query(
        dsn,
        "select coalesce(sum(amount), 0) as v from trading.cash_ledger"
        " where account_id = %s and entry_type in ('fill', 'fee')",
        acct,
    )[0]["v"]
    assert moved == notional - fees
    signed_qty = sum((f["qty"] * (1 if f["side"] == "buy" else -1) for f in fills), Decimal(0))
    assert book(dsn, trader.account_id)["positions"].get(symbol, Decimal(0)) == signed_qty
    per_order = query(
        dsn,
        "select o.qty, o.filled_qty, o.status, coalesce(sum(f.qty), 0) as fill_sum from trading.orders o"
        " left join trading.fills f on f.order_id = o.id where o.account_id = %s group by o.id",
        acct,
    )
    for row in per_order:
        assert row["fill_sum"] == row["filled_qty"] <= row["qty"]
        assert (row["status"] == "filled") == (row["filled_qty"] == row["qty"])
