"""A client of an Alpaca-compatible broker's `trade_updates` WebSocket, speaking the protocol itself.

alpaca-py's `TradingStream` is not used: it cannot send Tradeplane's `since` replay cursor, it
retries a refused authentication forever in its own loop, and its `run()` owns the event
loop, so it cannot be bounded by a Lambda invocation's deadline. The protocol is three
frames (docs/streaming.md), spoken here with `websockets`, which alpaca-py already brings in
(`deps-alpaca`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from websockets.asyncio.client import connect

from tp_execution.venue_credentials import Credentials

OPEN_TIMEOUT_S = 5.0
MAX_FRAME = 1 << 20  # a trade update is a few KB; API Gateway caps frames at 128 KB


class StreamUnauthorizedError(RuntimeError):
    """The broker refused the account's key for its stream: retrying now would be refused again."""


class ReplayRefusedError(RuntimeError):
    """The broker refused the replay cursor (it is not an event of this key's account): listen without it."""


def _frame(raw: str | bytes) -> dict[str, Any]:
    value = json.loads(raw)
    return value if isinstance(value, dict) else {}  # Alpaca's frames are objects; anything else is noise


async def trade_updates(
    credentials: Credentials,
    since_event_id: str | None = None,
    on_listening: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Authenticate, listen to `trade_updates` (replaying after `since_event_id` if given), await
    `on_listening` (updates sent meanwhile wait in the socket), then yield each update's `data` until the broker
    closes the socket. Transport failures propagate (OSError, websockets' exceptions, TimeoutError); the
    caller reconnects."""
    async with connect(
        credentials.trade_stream_url(), open_timeout=OPEN_TIMEOUT_S, close_timeout=1, max_size=MAX_FRAME
    ) as ws:
        auth = {"key_id": credentials.key_id, "secret_key": credentials.secret_key}
        await ws.send(json.dumps({"action": "authenticate", "data": auth}))
        reply = _frame(await ws.recv())
        if (reply.get("data") or {}).get("status") != "authorized":
            raise StreamUnauthorizedError(f"stream authentication refused: {reply.get('data')}")
        listen: dict[str, Any] = {"streams": ["trade_updates"]}
        if since_event_id:
            listen["since"] = {"event_id": since_event_id}
        await ws.send(json.dumps({"action": "listen", "data": listen}))
        if on_listening is not None:
            await on_listening()
        async for raw in ws:
            frame = _frame(raw)
            stream, data = frame.get("stream"), frame.get("data") or {}
            if stream == "trade_updates":
                yield data
            elif stream == "error" and since_event_id:
                raise ReplayRefusedError(str(data.get("error")))
            elif stream == "authorization" and data.get("status") != "authorized":
                raise StreamUnauthorizedError(f"stream authorization ended: {data}")
