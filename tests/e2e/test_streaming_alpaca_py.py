"""alpaca-py's TradingStream, unchanged, against the local platform: trade updates over the WebSocket API.

Orders go in through the REST API (TradingClient); the executor fills or rests them,
execution emits trade updates on `orders.events`, `trade_updates_fanout` posts them
through the gateway's `@connections` endpoint to the socket the SDK opened at `/stream`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import websockets
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest
from alpaca.trading.stream import TradingStream
from support.execution import eventually
from support.paper_pair import priced_paper_pair, trading_client
from tradeplane_local.admin import paper_account

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SYMBOL = "AAPL"


def stream_url(gateway: str) -> str:
    return gateway.replace("http://", "ws://").replace("https://", "wss://") + "/stream"


class Listener:
    """A TradingStream on its own thread, recording every trade update it dispatches."""

    def __init__(self, paper: dict[str, str]) -> None:
        self.updates: list[Any] = []
        self.stream = TradingStream(
            paper["APCA_API_KEY_ID"], paper["APCA_API_SECRET_KEY"], url_override=stream_url(paper["APCA_API_BASE_URL"])
        )

        async def on_update(update: Any) -> None:
            self.updates.append(update)

        self.stream.subscribe_trade_updates(on_update)
        self.thread = threading.Thread(target=self.stream.run, daemon=True)
        self.thread.start()

    def events_of(self, order_id: Any) -> list[str]:
        return [str(u.event) for u in self.updates if u.order.id == order_id]

    def stop(self) -> None:
        self.stream.stop()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def accounts(platform: tuple[Path, dict[str, Any]], redis_server: Any) -> Iterator[tuple[dict[str, str], ...]]:
    state, _ = platform
    yield priced_paper_pair(state, redis_server.url, SYMBOL)


def _listening(listener: Listener, client: TradingClient) -> None:
    """The stream is subscribed once a probe order's update reaches it (a probe placed before the socket
    listened is not streamed: a stream is what happens while one listens). Then the probes are canceled."""
    probes = []
    while not listener.updates:
        assert len(probes) < 10, "the stream never received an update"
        probes.append(
            client.submit_order(
                LimitOrderRequest(
                    symbol=SYMBOL, qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=1
                )
            )
        )
        deadline = time.monotonic() + 3
        while not listener.updates and time.monotonic() < deadline:
            time.sleep(0.1)
    for probe in probes:
        client.cancel_order_by_id(probe.id)
    eventually(lambda: "canceled" in listener.events_of(probes[-1].id), "the probe's canceled event")


def test_trading_stream_gets_new_fill_and_canceled_in_order_once_and_only_its_own(
    accounts: tuple[dict[str, str], ...],
) -> None:
    a, b = accounts
    mine, theirs = Listener(a), Listener(b)
    try:
        client_a, client_b = trading_client(a), trading_client(b)
        _listening(mine, client_a)
        _listening(theirs, client_b)
        filled = client_a.submit_order(
            MarketOrderRequest(symbol=SYMBOL, qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
        )
        resting = client_a.submit_order(
            LimitOrderRequest(symbol=SYMBOL, qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=5)
        )
        eventually(lambda: "fill" in mine.events_of(filled.id), "the market order's fill on the stream")
        eventually(lambda: "new" in mine.events_of(resting.id), "the resting order's new event")
        client_a.cancel_order_by_id(resting.id)
        eventually(lambda: "canceled" in mine.events_of(resting.id), "the cancel on the stream")
        time.sleep(1.0)  # anything sent twice would have arrived by now
        assert mine.events_of(filled.id) == ["new", "fill"]
        assert mine.events_of(resting.id) == ["new", "canceled"]
        fill = next(u for u in mine.updates if u.order.id == filled.id and str(u.event) == "fill")
        assert fill.qty == 2 and fill.price == 100.0 and fill.position_qty is not None and fill.execution_id
        assert fill.order.status == "filled" and fill.order.filled_qty == "2" and fill.order.submitted_at
        account_a_orders = {u.order.id for u in mine.updates}
        assert not account_a_orders & {u.order.id for u in theirs.updates}  # B never sees A's orders
        assert len({(u.order.id, str(u.event)) for u in mine.updates}) == len(mine.updates)  # each once
    finally:
        mine.stop()
        theirs.stop()


async def _auth_reply(url: str, key: str, secret: str) -> tuple[list[Any], bool]:
    """Every frame the server sends after a wrong authenticate, and whether it then closed the socket."""
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"action": "authenticate", "data": {"key_id": key, "secret_key": secret}}))
        frames: list[Any] = []
        try:
            while True:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        except websockets.ConnectionClosed:
            return frames, True
        except TimeoutError:
            return frames, False


def test_a_wrong_key_is_refused_with_one_unauthorized_frame_and_the_socket_closes(
    accounts: tuple[dict[str, str], ...],
) -> None:
    a, _ = accounts
    url = stream_url(a["APCA_API_BASE_URL"])
    frames, closed = asyncio.run(_auth_reply(url, a["APCA_API_KEY_ID"], "not-the-secret"))
    assert frames == [{"stream": "authorization", "data": {"status": "unauthorized", "action": "authenticate"}}]
    assert closed
    frames, _ = asyncio.run(_auth_reply(url, "PKNOSUCHKEY000000000", "x"))
    assert frames[0]["data"]["status"] == "unauthorized"


class RawClient:
    """A client speaking Alpaca's protocol plus Tradeplane's replay extension (`since` on `listen`)."""

    def __init__(self, url: str, paper: dict[str, str]) -> None:
        self.url, self.paper = url, paper
        self.ws: Any = None

    async def open(self, since: dict[str, str] | None = None) -> list[Any]:
        self.ws = await websockets.connect(self.url)
        auth = {"key_id": self.paper["APCA_API_KEY_ID"], "secret_key": self.paper["APCA_API_SECRET_KEY"]}
        await self.ws.send(json.dumps({"action": "authenticate", "data": auth}))
        replies = [json.loads(await self.ws.recv())]
        listen: dict[str, Any] = {"streams": ["trade_updates"], **({"since": since} if since else {})}
        await self.ws.send(json.dumps({"action": "listen", "data": listen}))
        replies.append(json.loads(await self.ws.recv()))
        return replies

    async def updates(self, count: int, timeout_s: float = 30) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout_s):
            while len(got) < count:
                frame = json.loads(await self.ws.recv())
                if frame.get("stream") == "trade_updates":
                    got.append(frame["data"])
        return got

    async def quiet(self, seconds: float) -> list[Any]:
        """Whatever else arrives within `seconds` (nothing, when each event came once)."""
        extra: list[Any] = []
        try:
            async with asyncio.timeout(seconds):
                while True:
                    extra.append(json.loads(await self.ws.recv()))
        except TimeoutError:
            return extra


def _market(client: TradingClient, qty: int) -> Any:
    return client.submit_order(
        MarketOrderRequest(symbol=SYMBOL, qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )


def test_a_client_that_drops_and_reconnects_with_replay_misses_nothing_and_gets_nothing_twice(
    accounts: tuple[dict[str, str], ...], platform: tuple[Path, dict[str, Any]]
) -> None:
    paper = paper_account(platform[0], Decimal("50000"))
    client, url = trading_client(paper), stream_url(paper["APCA_API_BASE_URL"])

    async def scenario() -> tuple[list[Any], list[Any], list[Any], list[Any]]:
        raw = RawClient(url, paper)
        await raw.open()
        await asyncio.sleep(0.5)
        await asyncio.to_thread(_market, client, 1)
        before = await raw.updates(2)
        await raw.ws.close()  # the socket drops; two orders fill meanwhile
        for qty in (2, 3):
            await asyncio.to_thread(_market, client, qty)
        await asyncio.sleep(2)
        back = RawClient(url, paper)
        replies = await back.open(since={"event_id": before[-1]["event_id"]})
        replayed = await back.updates(4)
        await asyncio.to_thread(_market, client, 4)  # and live again, after the replay
        live = await back.updates(2)
        assert await back.quiet(1.5) == []
        await back.ws.close()
        return replies, before, replayed, live

    replies, before, replayed, live = asyncio.run(scenario())
    assert replies[0]["data"]["status"] == "authorized" and replies[1]["data"]["replay"]["since"]
    seen = before + replayed + live
    assert [(u["event"], u["order"]["qty"]) for u in seen] == [(e, q) for q in "1234" for e in ("new", "fill")]
    assert len({u["event_id"] for u in seen}) == len(seen)


ATA_PYTHON = Path(__file__).resolve().parents[2] / ".venv-alpaca-trade-api" / "bin" / "python"
ATA_STREAM = Path(__file__).resolve().parent / "alpaca_trade_api_env" / "stream_drive.py"


def test_alpaca_trade_api_stream_gets_new_fill_and_canceled_in_order_once(
    accounts: tuple[dict[str, str], ...], platform: tuple[Path, dict[str, Any]]
) -> None:
    import os
    import subprocess

    assert ATA_PYTHON.is_file(), "run `make alpaca-trade-api-env` (make test builds it)"
    paper = paper_account(platform[0], Decimal("50000"))
    env = {**{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}, **paper}
    done = subprocess.run(
        [str(ATA_PYTHON), str(ATA_STREAM)], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    events = {oid: [e for o, e, _ in out["received"] if o == oid] for oid in (out["filled"], out["resting"])}
    assert events[out["filled"]] == ["new", "fill"]
    assert events[out["resting"]] == ["new", "canceled"]
    assert len(out["received"]) == len({tuple(r) for r in out["received"]})
