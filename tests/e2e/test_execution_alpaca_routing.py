"""The Alpaca venue end to end: account A's orders routed to a broker that is the platform's own /v2 API
(account B acting as the broker), through a loopback proxy that can lose an answer.

A is routed with a `core.account_venues` row and a venue secret in (moto's) Secrets Manager
holding B's key and the proxy's URL; the platform's own executor and reconciler do the rest.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest
from support.execution import eventually
from support.paper_pair import invoke, priced_paper_pair, rows, trading_client
from support.venue_broker import route_to_broker, unroute
from tradeplane_local.admin import local_dsn

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SYMBOL = "AAPL"


class LossyProxy:
    """Forwards HTTP to the gateway; `lose_next_order_answer()` makes the next POST /v2/orders reach the broker
    while its answer never comes back (the client times out): the ambiguous outcome."""

    def __init__(self, upstream: str, hold_s: float) -> None:
        self.upstream, self.hold_s = upstream.rstrip("/"), hold_s
        self.order_posts: list[str] = []  # client_order_id of every POST /v2/orders that reached the proxy
        self.lose_next = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "POST" and self.path.startswith("/v2/orders"):
                    proxy.order_posts.append(json.loads(body).get("client_order_id", ""))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                with httpx.Client(timeout=30) as client:
                    reply = client.request(self.command, proxy.upstream + self.path, content=body, headers=headers)
                if self.command == "POST" and self.path.startswith("/v2/orders") and proxy.lose_next.is_set():
                    proxy.lose_next.clear()
                    time.sleep(proxy.hold_s)  # the broker has it; the answer is lost past the client's timeout
                    self.close_connection = True
                    return
                self.send_response(reply.status_code)
                for k, v in reply.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            do_GET = do_POST = do_DELETE = do_PATCH = _forward  # noqa: N815 - http.server's naming

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def routed(platform: tuple[Path, dict[str, Any]], redis_server: Any, moto_server: Any) -> Iterator[dict[str, Any]]:
    """Account A routed to the Alpaca venue; broker B is a second paper account behind the lossy proxy."""
    state, _ = platform
    dsn = local_dsn(state) or ""
    a, b = priced_paper_pair(state, redis_server.url, SYMBOL)
    proxy = LossyProxy(b["APCA_API_BASE_URL"], hold_s=6.5)  # past the venue timeout (TP_VENUE_TIMEOUT_S, 5 s)
    a_id = str(trading_client(a).get_account().id)  # type: ignore[union-attr]
    route_to_broker(dsn, moto_server.url, a_id, b, proxy.url)
    yield {"a": trading_client(a), "b": trading_client(b), "a_id": a_id, "dsn": dsn, "proxy": proxy, "state": state}
    unroute(dsn, a_id)
    proxy.close()


def broker_orders(routed: dict[str, Any], client_order_id: str) -> list[dict[str, Any]]:
    return rows(routed["dsn"], "select status, filled_qty from trading.orders where client_order_id = %s"
                " and account_id <> %s", client_order_id, routed["a_id"])  # fmt: skip


def a_order(routed: dict[str, Any], client_order_id: str) -> dict[str, Any]:
    found = rows(routed["dsn"], "select id, status, venue, filled_qty, filled_avg_price from trading.orders"
                 " where client_order_id = %s and account_id = %s", client_order_id, routed["a_id"])  # fmt: skip
    return found[0] if found else {}


def a_fills(routed: dict[str, Any], order_id: uuid.UUID) -> list[dict[str, Any]]:
    return rows(routed["dsn"], "select qty, price from trading.fills where order_id = %s", order_id)


def buy(routed: dict[str, Any], client_order_id: str, qty: int) -> None:
    routed["a"].submit_order(
        MarketOrderRequest(
            symbol=SYMBOL, qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, client_order_id=client_order_id
        )
    )


def settle_and_check(routed: dict[str, Any], client_order_id: str, qty: int) -> dict[str, Any]:
    """B fills the routed order; the reconciler books it on A once (a second pass books nothing)."""
    eventually(lambda: [o for o in broker_orders(routed, client_order_id) if o["status"] == "filled"], "B's fill")
    eventually(lambda: a_order(routed, client_order_id).get("venue") == "alpaca", "A's order routed")
    invoke(routed["state"], "reconciler")
    order = eventually(lambda: a_order(routed, client_order_id).get("status") == "filled"
                       and a_order(routed, client_order_id), "A's fill")  # fmt: skip
    assert (order["filled_qty"], order["filled_avg_price"]) == (Decimal(qty), Decimal(100))
    again = invoke(routed["state"], "reconciler")
    assert again["result"]["fills_booked"] == 0, again
    fills = a_fills(routed, order["id"])
    assert [(f["qty"], f["price"]) for f in fills] == [(Decimal(qty), Decimal(100))]  # one fill, once
    return order


def test_an_order_on_a_reaches_broker_b_and_a_books_b_fill(routed: dict[str, Any]) -> None:
    coid = f"routed-{uuid.uuid4().hex[:8]}"
    buy(routed, coid, 3)
    settle_and_check(routed, coid, 3)
    assert len(broker_orders(routed, coid)) == 1
    assert routed["proxy"].order_posts.count(coid) == 1
    position = routed["a"].get_open_position(SYMBOL)
    assert Decimal(position.qty) == 3  # type: ignore[union-attr]
    assert Decimal(routed["b"].get_open_position(SYMBOL).qty) == 3  # type: ignore[union-attr]


def test_a_submit_whose_answer_is_lost_is_queried_not_resent_and_fills_once(routed: dict[str, Any]) -> None:
    coid = f"lost-{uuid.uuid4().hex[:8]}"
    routed["proxy"].lose_next.set()
    buy(routed, coid, 2)
    settle_and_check(routed, coid, 2)
    assert not routed["proxy"].lose_next.is_set()  # the answer really was lost
    assert routed["proxy"].order_posts.count(coid) == 1  # queried by client order id, never resent
    assert len(broker_orders(routed, coid)) == 1
    result = invoke(routed["state"], "reconciler")["result"]
    assert result["differences"] == 0, result  # positions agree: A holds what B holds (3 + 2)
