"""The Alpaca venue's mapping (requests out, Alpaca order JSON in) and its transport rule: a lost answer is ambiguous.

The transport tests talk real HTTP over loopback to a small server that answers as a broker
would, or holds the answer past the client's timeout.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal as D  # noqa: N817 - short, the tests are full of literals
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest, TrailingStopOrderRequest
from tp_execution.alpaca_venue import AlpacaVenue, order_request, outcome_of, trading_client
from tp_execution.venue import AMBIGUOUS, VenueOrder, submit_resolved
from tp_execution.venue_credentials import Credentials
from tradeplane.fill_model import Order


def broker(status: str, filled: str = "0", avg: str | None = None) -> dict[str, Any]:
    return {"id": "b-1", "status": status, "filled_qty": filled, "filled_avg_price": avg}


@pytest.mark.parametrize(
    ("status", "filled", "avg", "outcome", "fill"),
    [
        ("new", "0", None, "new", None),
        ("accepted", "0", None, "new", None),
        ("pending_cancel", "2", "10.5", "new", (D(2), D("10.5"))),
        ("partially_filled", "3", "10", "partially_filled", (D(3), D(10))),
        ("filled", "5", "10.2", "filled", (D(5), D("10.2"))),
        ("canceled", "1", "9", "canceled", (D(1), D(9))),
        ("expired", "0", None, "canceled", None),
        ("done_for_day", "1", "9", "new", (D(1), D(9))),  # resumes next session: still working
        ("done_for_day", "0", None, "new", None),
    ],
)
def test_a_broker_order_maps_to_an_outcome_with_its_cumulative_fill(
    status: str, filled: str, avg: str | None, outcome: str, fill: tuple[D, D] | None
) -> None:
    answer = outcome_of(broker(status, filled, avg))
    assert answer.kind == "accepted" and answer.decision is not None
    assert answer.decision.outcome == outcome
    assert [(f.qty, f.price, f.fee) for f in answer.decision.fills] == ([(*fill, D(0))] if fill else [])


def test_a_broker_rejection_is_a_rejection() -> None:
    assert outcome_of(broker("rejected")).kind == "rejected"


def test_orders_become_alpaca_requests_under_their_client_order_id() -> None:
    limit = order_request(VenueOrder("c-1", "AAPL", Order("buy", "limit", "gtc", qty=D(3), limit_price=D("101.5"))))
    assert isinstance(limit, LimitOrderRequest)
    assert (limit.client_order_id, limit.qty, limit.limit_price, limit.time_in_force.value) == ("c-1", 3, 101.5, "gtc")
    notional = order_request(VenueOrder("c-2", "AAPL", Order("sell", "market", notional=D(250))))
    assert isinstance(notional, MarketOrderRequest) and notional.notional == 250 and notional.qty is None
    trail = order_request(VenueOrder("c-3", "AAPL", Order("sell", "trailing_stop", qty=D(1), trail_percent=D(2))))
    assert isinstance(trail, TrailingStopOrderRequest) and trail.trail_percent == 2


class _Broker(BaseHTTPRequestHandler):
    """POST /v2/orders: records the order, then holds its answer (the client times out); GET by client order id."""

    orders: dict[str, dict[str, Any]] = {}
    posts: list[str] = []
    hold_s = 1.0

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.posts.append(body["client_order_id"])
        self.orders[body["client_order_id"]] = {**broker("filled", body["qty"], "99.5"), "client_order_id": "x"}
        time.sleep(self.hold_s)  # the order is taken; the answer comes too late
        self.close_connection = True

    def do_GET(self) -> None:
        coid = self.path.split("client_order_id=")[-1]
        found = self.orders.get(coid)
        self._reply(200, found) if found else self._reply(404, {"code": 40410000, "message": "order not found"})


@pytest.fixture
def slow_broker() -> Iterator[str]:
    _Broker.orders, _Broker.posts = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_submit_whose_answer_times_out_is_ambiguous(slow_broker: str) -> None:
    venue = AlpacaVenue(trading_client(Credentials("k", "s", slow_broker), timeout_s=0.3))
    assert venue.query("c-9") is None  # never seen: 404
    assert venue.submit(VenueOrder("c-9", "AAPL", Order("buy", "market", qty=D(4)))) == AMBIGUOUS
    assert _Broker.posts == ["c-9"]


def test_a_lost_answer_is_resolved_by_query_and_never_resent(slow_broker: str) -> None:
    venue = AlpacaVenue(trading_client(Credentials("k", "s", slow_broker), timeout_s=0.3))
    resolved = submit_resolved(venue, VenueOrder("c-10", "AAPL", Order("buy", "market", qty=D(4))))
    assert resolved.kind == "accepted" and resolved.decision is not None
    assert [(f.qty, f.price) for f in resolved.decision.fills] == [(D(4), D("99.5"))]
    assert _Broker.posts == ["c-10"]  # one POST: the query found the order
