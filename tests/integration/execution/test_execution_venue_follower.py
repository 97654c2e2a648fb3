"""The venue follower on real Postgres and Redis against an in-test broker stream.

The broker's `trade_updates` socket is a loopback WebSocket server speaking Alpaca's protocol
(authenticate, listen, trade updates) with Tradeplane's `since` replay when its events carry
`event_id`; its REST side is the reconciler tests' broker stand-in (the snapshot's queries).
The e2e suite runs the follower against the platform's own `/stream`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from support.core_api import Trader
from support.execution import as_function, eventually, outbox_envelopes, query, submit
from support.venue_broker import BrokerRouter
from tp_execution.alpaca_venue import outcome_of
from tp_execution.executor import execute
from tp_execution.follow import settle_order
from tp_execution.follow_leases import Leases
from tp_execution.follower import SETTLEABLE, FollowReport, follow
from tp_execution.paper_venue import PaperVenue
from tp_execution.reconcile import reconcile
from tradeplane import db
from tradeplane.fill_model import FillConfig
from tradeplane_tools.manifest import Bindings
from websockets.asyncio.server import ServerConnection, serve

pytestmark = pytest.mark.integration
KEY, SECRET = "PKFOLLOW", "right-secret"


class StreamBroker:
    """Alpaca's trading stream on a loopback port, on its own thread and event loop."""

    def __init__(self) -> None:
        self.auths: list[dict[str, Any]] = []
        self.listens: list[dict[str, Any]] = []
        self.log: list[dict[str, Any]] = []  # every update pushed, for replay
        self.sockets: set[ServerConnection] = set()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def main() -> None:
            self.server = await serve(self._serve, "127.0.0.1", 0)
            self.url = f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/stream"
            ready.set()
            await self.server.serve_forever()

        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(main(),), daemon=True)
        self.thread.start()
        ready.wait(5)

    async def _serve(self, ws: ServerConnection) -> None:
        auth = json.loads(await ws.recv())["data"]
        self.auths.append(auth)
        if auth != {"key_id": KEY, "secret_key": SECRET}:
            await ws.send(
                json.dumps({"stream": "authorization", "data": {"status": "unauthorized", "action": "authenticate"}})
            )
            return
        await ws.send(
            json.dumps({"stream": "authorization", "data": {"status": "authorized", "action": "authenticate"}})
        )
        listen = json.loads(await ws.recv())["data"]
        self.listens.append(listen)
        await ws.send(json.dumps({"stream": "listening", "data": {"streams": listen["streams"]}}))
        since = (listen.get("since") or {}).get("event_id")
        if since:
            ids = [u.get("event_id") for u in self.log]
            for update in self.log[ids.index(since) + 1 :]:
                await ws.send(json.dumps({"stream": "trade_updates", "data": update}))
        self.sockets.add(ws)
        try:
            await ws.wait_closed()
        finally:
            self.sockets.discard(ws)

    def _call(self, coro: Any) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(5)

    def push(self, update: dict[str, Any]) -> None:
        """An update happens at the broker: logged (for replay) and sent to every listening socket."""

        async def send() -> None:
            self.log.append(update)
            for ws in list(self.sockets):
                await ws.send(json.dumps({"stream": "trade_updates", "data": update}))

        self._call(send())

    def drop(self) -> None:
        async def close() -> None:
            for ws in list(self.sockets):
                await ws.close()

        self._call(close())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)


@pytest.fixture
def stream() -> Iterator[StreamBroker]:
    broker = StreamBroker()
    yield broker
    broker.close()


def router_for(stream: StreamBroker, secret: str = SECRET) -> BrokerRouter:
    value = {"key_id": KEY, "secret_key": secret, "base_url": "http://127.0.0.1:9", "stream_url": stream.url}
    return BrokerRouter(secret_prefix="tradeplane/local/venues/", read_secret=lambda _name: value)


@pytest.fixture
def routed(core_env: dict[str, Any], trader: Trader) -> Trader:
    with psycopg.connect(core_env["dsn"]) as conn:
        conn.execute("insert into core.account_venues (account_id, venue) values (%s, 'alpaca')", (trader.account_id,))
    return trader


def place(core_env: dict[str, Any], bindings: Bindings, trader: Trader, router: BrokerRouter, coid: str) -> None:
    """A limit buy of 10 the executor has sent to the broker, where it rests."""
    submit(trader, client_order_id=coid, type="limit", limit_price="105", qty="10")
    with as_function("executor", bindings):
        execute(outbox_envelopes(core_env["dsn"], trader.account_id), PaperVenue(FillConfig(), lambda _s: Decimal(100)),
                router=router)  # fmt: skip


def start(bindings: Bindings, router: BrokerRouter, hold_s: float, pool: ThreadPoolExecutor) -> Future[FollowReport]:
    def run() -> FollowReport:
        with as_function("venue_follower", bindings):
            return follow(router, Leases(ttl_s=5), time.monotonic() + hold_s, refresh_s=0.1)

    return pool.submit(run)


def update(router: BrokerRouter, coid: str, event: str, event_id: str | None = None) -> dict[str, Any]:
    order = {**router.broker.orders[coid], "client_order_id": coid}
    found = {"event": event, "order": order, "timestamp": "2026-11-27T15:00:00Z", "execution_id": str(uuid.uuid4())}
    return {**found, "event_id": event_id} if event_id else found


def order_row(dsn: str, coid: str) -> dict[str, Any]:
    return query(dsn, "select * from trading.orders where client_order_id = %s", coid)[0]


def fills(dsn: str, order_id: uuid.UUID) -> list[tuple[Decimal, Decimal]]:
    rows = query(dsn, "select qty, price from trading.fills where order_id = %s order by qty", order_id)
    return [(r["qty"], r["price"]) for r in rows]


def producers(dsn: str, order_id: uuid.UUID, event: str) -> list[str]:
    sql = (
        "select envelope->>'producer' as p from trading.outbox where topic = 'orders.events'"
        " and envelope->'data'->>'event' = %s and envelope->'data'->'order'->>'id' = %s"
    )
    return [r["p"] for r in query(dsn, sql, event, str(order_id))]


def test_a_fill_on_the_stream_is_booked_at_once_and_once_even_when_the_poll_also_runs(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, stream: StreamBroker
) -> None:
    dsn, router = core_env["dsn"], router_for(stream)
    place(core_env, bindings, routed, router, "s-1")
    with ThreadPoolExecutor(1) as pool:
        running = start(bindings, router, 4.0, pool)
        eventually(lambda: stream.sockets, "the follower listening", 10)
        router.broker.fill("s-1", "10", "100", "filled")
        stream.push(update(router, "s-1", "fill"))
        row = eventually(lambda: order_row(dsn, "s-1")["status"] == "filled" and order_row(dsn, "s-1"), "the fill", 10)
        stream.push(update(router, "s-1", "fill"))  # a repeated update books nothing
        with as_function("reconciler", bindings):
            polled = reconcile(router)  # the poll sees the same broker state: same ids, nothing to book
        report = running.result(10)
    assert (row["filled_qty"], row["filled_avg_price"]) == (10, Decimal(100))
    assert fills(dsn, row["id"]) == [(10, Decimal(100))]
    assert producers(dsn, row["id"], "fill") == ["venue_follower"]  # the stream booked it, not the poll
    assert polled.fills_booked == 0
    assert (report.fills_booked, report.updates, report.refused) == (1, 2, [])


def test_a_dropped_stream_reconnects_and_replays_from_the_last_event(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, stream: StreamBroker
) -> None:
    dsn, router = core_env["dsn"], router_for(stream)
    place(core_env, bindings, routed, router, "s-2")
    with ThreadPoolExecutor(1) as pool:
        running = start(bindings, router, 5.0, pool)
        eventually(lambda: stream.sockets, "the follower listening", 10)
        router.broker.fill("s-2", "4", "100", "partially_filled")
        stream.push(update(router, "s-2", "partial_fill", "e-1"))
        eventually(lambda: order_row(dsn, "s-2")["filled_qty"] == 4, "the partial fill", 10)
        stream.drop()
        router.broker.fill("s-2", "10", "101.2", "filled")
        stream.push(update(router, "s-2", "fill", "e-2"))  # while no socket listens: only the replay has it
        eventually(lambda: len(stream.listens) == 2 and stream.sockets, "the reconnection", 10)
        row = eventually(lambda: order_row(dsn, "s-2")["status"] == "filled" and order_row(dsn, "s-2"), "the fill", 10)
        report = running.result(10)
    assert stream.listens[1]["since"] == {"event_id": "e-1"}
    assert fills(dsn, row["id"]) == [(4, Decimal(100)), (6, Decimal(102))]  # the rest at what makes the average
    assert report.reconnects >= 1 and report.fills_booked == 2


def test_without_replay_a_reconnection_asks_the_broker_for_what_it_missed(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, stream: StreamBroker
) -> None:
    dsn, router = core_env["dsn"], router_for(stream)
    place(core_env, bindings, routed, router, "s-3")
    with ThreadPoolExecutor(1) as pool:
        running = start(bindings, router, 4.0, pool)
        eventually(lambda: stream.sockets, "the follower listening", 10)
        stream.drop()
        router.broker.fill("s-3", "10", "100", "filled")  # plain Alpaca: nothing replays this
        eventually(lambda: order_row(dsn, "s-3")["status"] == "filled", "the fill from the snapshot", 10)
        running.result(10)
    assert "since" not in stream.listens[-1]
    assert fills(dsn, order_row(dsn, "s-3")["id"]) == [(10, Decimal(100))]


def test_refused_credentials_are_reported_and_not_retried_within_the_run(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, stream: StreamBroker
) -> None:
    router = router_for(stream, secret="wrong")
    place(core_env, bindings, routed, router, "s-4")
    with ThreadPoolExecutor(1) as pool:
        report = start(bindings, router, 2.0, pool).result(10)  # 20 refreshes
    assert len(stream.auths) == 1
    assert [line for line in report.refused if routed.account_id in line and "refused" in line]
    assert order_row(core_env["dsn"], "s-4")["status"] == "new"  # nothing changed


def test_a_stream_fill_for_an_order_a_replace_moved_on_meanwhile_is_left_to_the_replace(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, stream: StreamBroker
) -> None:
    """The follower picks orders by a status read before the lock; settling re-checks it under the lock, so an
    order the Core API moved to pending_replace in between is left to the replace (which settles it first)."""
    dsn, router = core_env["dsn"], router_for(stream)
    place(core_env, bindings, routed, router, "s-5")
    order_id = order_row(dsn, "s-5")["id"]
    with psycopg.connect(dsn) as conn:  # as the Core API's replace leaves it
        conn.execute("update trading.orders set status = 'pending_replace' where id = %s", (order_id,))
    router.broker.fill("s-5", "10", "100", "filled")
    known = outcome_of({**router.broker.orders["s-5"], "client_order_id": "s-5"})
    with as_function("venue_follower", bindings), db.connection() as conn:
        done = settle_order(conn, "venue_follower", order_id, known, skip_stale=True, statuses=SETTLEABLE)
    assert (done.fills_booked, done.staged) == (0, [])
    assert order_row(dsn, "s-5")["status"] == "pending_replace" and fills(dsn, order_id) == []
