"""A local API Gateway WebSocket API: upgrades at `/stream`, route events to Lambda, and `@connections`.

The gateway's own port takes the upgrade (alpaca-trade-api derives `ws://<REST
host>/stream` from its REST base URL). `$connect` runs before the handshake
completes (an error or a non-2xx `statusCode` refuses it with 403, as AWS does);
each frame is a MESSAGE event for the route its `action` selects (else
`$default`), one at a time per connection; the close is a `$disconnect` event.
Functions answer through the management API, which this serves under
`/@connections/{id}` (POST a frame, GET its description, DELETE to close it) to
loopback callers only (AWS requires IAM there); the functions' boto3
`apigatewaymanagementapi` client reaches it through `TP_WS_ENDPOINT`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from tradeplane_tools.edge_limits import WEBSOCKET_INTEGRATION_TIMEOUT, WEBSOCKET_MESSAGE

from tradeplane_local import events
from tradeplane_local.gateway import (
    CONNECTIONS_PREFIX,
    Invoker,
    Receive,
    Response,
    Scope,
    Send,
    gateway_error,
)
from tradeplane_local.host import FunctionHost, InvokeResult

STREAM_PATHS = ("/stream", "/stream/")
CLOSED = object()  # the outbound queue's end marker


@dataclass
class _Connection:
    peer: events.WebSocketPeer
    outbound: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    last_active: float = field(default_factory=time.time)
    closed_by_server: bool = False


def _gone(connection_id: str) -> Response:
    # boto3 maps the error type header to GoneException, as AWS sends it.
    body = json.dumps({"message": f"connection {connection_id} is gone"}).encode()
    return 410, [("Content-Type", "application/json"), ("x-amzn-ErrorType", "GoneException")], body


class WebSocketApi:
    def __init__(
        self,
        routes: Mapping[str, str],  # route key -> function
        host_of: Callable[[str], FunctionHost],
        stage: str = "local",
        on_error: Callable[[str, InvokeResult], None] = lambda fn, r: None,
        timeout_s: float = WEBSOCKET_INTEGRATION_TIMEOUT.value,
    ) -> None:
        self.routes = dict(routes)
        self.invoker = Invoker(host_of, set(self.routes.values()))
        self.stage = stage
        self.on_error = on_error
        self.timeout_s = timeout_s
        self.connections: dict[str, _Connection] = {}

    @classmethod
    def from_manifest(cls, manifest: Any, host_of: Callable[[str], FunctionHost]) -> WebSocketApi | None:
        routes = {t.route: f.name for t, f in manifest.websocket_routes()}
        return cls(routes, host_of) if routes else None

    def accepts(self, path: str) -> bool:
        return path in STREAM_PATHS

    def close(self) -> None:
        self.invoker.close()

    # ------------------------------------------------------------------ the client's side

    async def _call(self, route_key: str, event: dict[str, Any]) -> bool:
        function = self.routes.get(route_key)
        if function is None:
            return route_key != "$connect"  # no $connect route: every connection is accepted
        result = await self.invoker.invoke(function, event, self.timeout_s)
        if result is not None and not result.ok:
            self.on_error(function, result)
        if result is None or not result.ok:
            return False
        status = result.result.get("statusCode", 200) if isinstance(result.result, dict) else 200
        return 200 <= int(status) < 300

    def _route_of(self, body: str | bytes) -> str:
        """`$request.body.action` route selection: a route named after the action, else `$default`."""
        try:
            action = json.loads(body).get("action")
        except (ValueError, AttributeError):
            return "$default"
        return action if isinstance(action, str) and action in self.routes else "$default"

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        lowered = {k.lower(): v for k, v in headers}
        client = scope.get("client") or ("127.0.0.1", 0)
        peer = events.WebSocketPeer(
            connection_id=secrets.token_urlsafe(12),
            source_ip=str(client[0]),
            user_agent=lowered.get("user-agent"),
            domain=lowered.get("host", "localhost"),
            stage=self.stage,
            connected_at_ms=int(time.time() * 1000),
            headers=headers,
        )
        conn = _Connection(peer)
        self.connections[peer.connection_id] = conn
        if not await self._call("$connect", events.websocket_event(peer, "$connect")):
            self.connections.pop(peer.connection_id, None)
            await send({"type": "websocket.close", "code": 1008})  # before accept: the handshake gets 403
            return
        await send({"type": "websocket.accept"})
        writer = asyncio.create_task(self._write(conn, send))
        code, reason = 1005, "Client closed the connection"
        try:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    code = int(message.get("code", 1005))
                    break
                text, data = message.get("text"), message.get("bytes")
                body: str | bytes = text if text is not None else (data or b"")
                conn.last_active = time.time()
                route = self._route_of(body)
                await self._call(route, events.websocket_event(peer, route, body))
        finally:
            if conn.closed_by_server:
                code, reason = 1000, "Connection closed by the server"
            self.connections.pop(peer.connection_id, None)
            conn.outbound.put_nowait(CLOSED)
            await writer
            event = events.websocket_event(peer, "$disconnect", disconnect=(code, reason))
            await self._call("$disconnect", event)

    async def _write(self, conn: _Connection, send: Send) -> None:
        while (frame := await conn.outbound.get()) is not CLOSED:
            try:
                if frame is None:  # the server closes it (DELETE @connections/{id})
                    await send({"type": "websocket.close", "code": 1000})
                    return
                try:
                    await send({"type": "websocket.send", "text": frame.decode()})
                except UnicodeDecodeError:
                    await send({"type": "websocket.send", "bytes": frame})
            except Exception:  # noqa: BLE001 - the client went away mid-send; its disconnect follows
                return

    # ------------------------------------------------------------------ the management API

    async def manage(self, req: events.HttpRequest) -> Response:
        try:
            local = ipaddress.ip_address(req.source_ip).is_loopback
        except ValueError:
            local = False
        if not local:
            return gateway_error(403, "Forbidden")
        connection_id = unquote(req.path).removeprefix(CONNECTIONS_PREFIX).rstrip("/")
        conn = self.connections.get(connection_id)
        if req.method not in ("POST", "GET", "DELETE"):
            return gateway_error(405, "Method Not Allowed", [("Allow", "DELETE, GET, POST")])
        if conn is None:
            return _gone(connection_id)
        if req.method == "GET":
            return 200, [("Content-Type", "application/json")], json.dumps(self._describe(conn)).encode()
        if req.method == "DELETE":
            conn.closed_by_server = True
            conn.outbound.put_nowait(None)
            return 204, [], b""
        if len(req.body) > WEBSOCKET_MESSAGE.value:
            return gateway_error(413, WEBSOCKET_MESSAGE.message)
        conn.outbound.put_nowait(req.body)
        conn.last_active = time.time()
        return 200, [], b""

    @staticmethod
    def _describe(conn: _Connection) -> dict[str, Any]:
        def stamp(seconds: float) -> str:
            return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

        identity = {"sourceIp": conn.peer.source_ip, "userAgent": conn.peer.user_agent}
        return {
            "connectedAt": stamp(conn.peer.connected_at_ms / 1000),
            "identity": identity,
            "lastActiveAt": stamp(conn.last_active),
        }
