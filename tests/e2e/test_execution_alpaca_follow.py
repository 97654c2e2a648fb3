"""The venue follower end to end: account A routed to broker B (a second account on the platform's own /v2),
and the follower holding B's `trade_updates` stream at the platform's own `/stream`.

A resting order keeps A "with open routed orders", so a follower (the test's invocation or a scheduled one:
the Redis lease lets only one hold B's stream) listens; a market order, sent just after a scheduled
reconciler run, then fills at B and the book shows who booked it: the follower (its trade update's producer),
once, with the reconciler run after it booking nothing.
"""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest
from support.execution import eventually
from support.paper_pair import invoke, priced_paper_pair, rows, trading_client
from support.venue_broker import route_to_broker, unroute
from tradeplane_local import stack
from tradeplane_local.admin import local_dsn

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SYMBOL = "AAPL"


@pytest.fixture(scope="module")
def routed(platform: tuple[Path, dict[str, Any]], redis_server: Any, moto_server: Any) -> Iterator[dict[str, Any]]:
    """A routed to the Alpaca venue at B (no proxy: the stream is on B's REST host), a follower running."""
    state, info = platform
    dsn = local_dsn(state) or ""
    a, b = priced_paper_pair(state, redis_server.url, SYMBOL)
    cache = redis.Redis.from_url(redis_server.url)
    a_id, b_id = (str(trading_client(x).get_account().id) for x in (a, b))  # type: ignore[union-attr]
    route_to_broker(dsn, moto_server.url, a_id, b, b["APCA_API_BASE_URL"])
    follower = threading.Thread(target=invoke, args=(state, "venue_follower", {"hold_s": 45}), daemon=True)
    follower.start()
    yield {"a": trading_client(a), "a_env": a, "a_id": a_id, "b_id": b_id, "dsn": dsn, "state": state, "cache": cache,
           "gateway": info["runtime"]["gateway"]}  # fmt: skip
    follower.join(timeout=60)
    unroute(dsn, a_id)
    cache.close()


def a_order(routed: dict[str, Any], coid: str) -> dict[str, Any]:
    found = rows(routed["dsn"], "select id, status, venue, filled_qty, filled_avg_price from trading.orders"
                 " where client_order_id = %s and account_id = %s", coid, routed["a_id"])  # fmt: skip
    return found[0] if found else {}


def fill_producers(routed: dict[str, Any], order_id: uuid.UUID) -> list[str]:
    sql = (
        "select envelope->>'producer' as p from trading.outbox where topic = 'orders.events'"
        " and envelope->'data'->>'event' = 'fill' and envelope->'data'->'order'->>'id' = %s"
    )
    return [r["p"] for r in rows(routed["dsn"], sql, str(order_id))]


def b_stream_connections(routed: dict[str, Any]) -> set[str]:
    """B's listening sockets (`ws:acct:{account}`): the follower's, since nothing else listens as B."""
    return {m.decode() for m in routed["cache"].smembers("ws:acct:{" + routed["b_id"] + "}")}


def rest_at_b(routed: dict[str, Any]) -> None:
    """A resting routed order: A has an open routed order, so a follower takes A and listens at B."""
    coid = f"rest-{uuid.uuid4().hex[:8]}"
    routed["a"].submit_order(LimitOrderRequest(symbol=SYMBOL, qty=1, side=OrderSide.BUY, limit_price=50,
                                               time_in_force=TimeInForce.GTC, client_order_id=coid))  # fmt: skip
    eventually(lambda: a_order(routed, coid).get("venue") == "alpaca", "the resting order routed")


def poll_far_off(routed: dict[str, Any]) -> bool:
    """The scheduled reconciler's next poll is at least 30 s away (and its last one has finished: the scheduler
    moves `next_at` on after the run), so a fill booked now by the venue follower was booked before any poll."""
    with urllib.request.urlopen(f"{stack.admin_url(routed['state'])}/status", timeout=30) as r:  # noqa: S310 - loopback
        schedules = json.loads(r.read())["schedules"]
    (next_at,) = [datetime.fromisoformat(s["next_at"]) for s in schedules if s["function"] == "reconciler"]
    return next_at - datetime.now(UTC) >= timedelta(seconds=30)


def market_buy_booked_by_follower(routed: dict[str, Any], qty: int) -> dict[str, Any]:
    coid = f"follow-{uuid.uuid4().hex[:8]}"
    eventually(lambda: poll_far_off(routed), "the reconciler's next poll 30 s away", 70)
    # A new client: the wait can outlast the gateway's 30 s keep-alive idle timeout, and a POST on a kept
    # connection the server closes at that moment is not retried by requests (RemoteDisconnected).
    fresh = trading_client(routed["a_env"])
    fresh.submit_order(MarketOrderRequest(symbol=SYMBOL, qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                          client_order_id=coid))  # fmt: skip
    order = eventually(lambda: a_order(routed, coid).get("status") == "filled" and a_order(routed, coid), "A's fill")
    assert (order["filled_qty"], order["filled_avg_price"]) == (Decimal(qty), Decimal(100))
    assert fill_producers(routed, order["id"]) == ["venue_follower"]  # the stream booked it, once
    return order


def test_a_routed_fill_is_booked_by_the_follower_once_even_when_the_reconciler_runs(routed: dict[str, Any]) -> None:
    rest_at_b(routed)
    eventually(lambda: b_stream_connections(routed), "a follower listening at B")
    order = market_buy_booked_by_follower(routed, 2)
    again = invoke(routed["state"], "reconciler", {})["result"]
    assert again["fills_booked"] == 0, again
    fills = rows(routed["dsn"], "select qty, price from trading.fills where order_id = %s", order["id"])
    assert [(f["qty"], f["price"]) for f in fills] == [(Decimal(2), Decimal(100))]


def test_a_dropped_stream_reconnects(routed: dict[str, Any]) -> None:
    rest_at_b(routed)
    before = eventually(lambda: b_stream_connections(routed), "a follower listening at B")
    for cid in before:  # the gateway closes the socket, as API Gateway's DeleteConnection does
        urllib.request.urlopen(urllib.request.Request(f"{routed['gateway']}/@connections/{cid}", method="DELETE"))  # noqa: S310
    eventually(lambda: b_stream_connections(routed) - before, "the follower listening again")
    market_buy_booked_by_follower(routed, 1)
