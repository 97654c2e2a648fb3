"""A local API Gateway HTTP API: routes from the manifest, Lambda authorizer, payload 2.0, AWS's edge.

Requests become HTTP API v2 events; routes that ask for auth first run the
authorizer (simple responses, allow decisions cached per identity for its TTL
but never past the token's `exp`); the function's return value is mapped back
to an HTTP response. Gateway errors use API Gateway's own bodies
({"message": ...}); the functions answer with RFC 9457 problems themselves.

HTTP framing (Content-Length, chunked, keep-alive, pipelining), read and idle
timeouts and the hard cap on header bytes belong to hypercorn (h11); the edge
limits AWS documents (`tradeplane_tools.edge_limits`) are enforced here, with
AWS's answers. Function invocations block (pipes to a worker process), so they
run in a thread pool and the event loop never waits on them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import parse_qs, unquote

from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.typing import ASGIFramework
from tradeplane_tools.edge_limits import (
    AUTHORIZER_TIMEOUT,
    HTTP_API_PAYLOAD,
    INTEGRATION_TIMEOUT,
    LAMBDA_SYNC_PAYLOAD,
    REQUEST_HEADERS,
    WEBSOCKET_MESSAGE,
    EdgeLimit,
)
from tradeplane_tools.manifest import AuthorizerTrigger, HttpTrigger

from tradeplane_local import events
from tradeplane_local.host import FunctionHost, InvokeResult

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Response = tuple[int, list[tuple[str, str]], bytes]

# h11 refuses (bare 431, connection closed) a request whose head exceeds this before the app sees it;
# between AWS's limit and this, the app answers AWS's JSON 431.
HEAD_HARD_CAP = 64 * 1024
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


@dataclass(frozen=True)
class EdgeSettings:
    """AWS's documented limits (defaults from the edge table) and the local server's own timeouts.

    AWS does not document its edge's read/idle timeouts; these keep a stalled or
    trickling client from holding a connection past the integration timeout.
    """

    max_head_bytes: int = REQUEST_HEADERS.value
    max_body_bytes: int = HTTP_API_PAYLOAD.value
    max_event_bytes: int = LAMBDA_SYNC_PAYLOAD.value
    integration_timeout_s: float = INTEGRATION_TIMEOUT.value
    authorizer_timeout_s: float = AUTHORIZER_TIMEOUT.value
    idle_timeout_s: float = 30.0  # keep-alive idle, and the time allowed to send a request's head
    read_timeout_s: int = 30  # no byte at all for this long mid-request: the connection is closed
    body_timeout_s: float = INTEGRATION_TIMEOUT.value  # the whole body must have arrived by then: 408
    tls_handshake_timeout_s: float = 10.0


def gateway_error(status: int, message: str, extra: Sequence[tuple[str, str]] = ()) -> Response:
    return status, [("Content-Type", "application/json"), *extra], json.dumps({"message": message}).encode()


def limit_error(limit: EdgeLimit, close: bool = False) -> Response:
    """AWS's answer past an edge limit; `close` when the request's body was not read."""
    return gateway_error(limit.status, limit.message, [("Connection", "close")] if close else [])


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    function: str
    auth: bool
    pattern: re.Pattern[str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    @classmethod
    def of(cls, trigger: HttpTrigger, function: str) -> Route:
        regex = ""
        for part in re.split(r"(\{[^}]+\})", trigger.path):
            if part.startswith("{") and part.endswith("+}"):
                regex += f"(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                regex += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                regex += re.escape(part)
        return cls(trigger.method, trigger.path, function, trigger.auth == "authorizer", re.compile(f"^{regex}$"))


class Router:
    def __init__(self, routes: Sequence[Route]) -> None:
        # Literal routes before templated ones, as API Gateway prefers the most specific.
        self.routes = sorted(routes, key=lambda r: (r.template.count("{"), -len(r.template)))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """(route, path parameters, methods allowed on the path when the method is not)."""
        allowed: list[str] = []
        for route in self.routes:
            m = route.pattern.match(path)
            if not m:
                continue
            if route.method == method:
                return route, m.groupdict(), []
            allowed.append(route.method)
        return None, {}, sorted(set(allowed))


@dataclass(frozen=True)
class AuthorizerConfig:
    function: str
    identity_sources: tuple[str, ...]
    ttl_s: int


@dataclass(frozen=True)
class _Cached:
    expires_at: float
    decision: dict[str, Any]
    size: int


class AuthorizerCache:
    """Allow decisions per identity for the authorizer's TTL (0 disables caching).

    Bounded in entries and bytes (least recently used go first), keyed by a hash
    of the identity so a token is never kept, and never past the token's `exp`
    (the authorizer's context carries it). Denials are not cached: a token
    refused for clock skew must not stay refused for the TTL, and the bound, not
    a cache of refusals, is what keeps a flood of bad tokens from growing memory.
    """

    ENTRY_OVERHEAD = 200  # bytes of dict slot, key and record beyond the decision's JSON

    def __init__(
        self,
        ttl_s: int,
        max_entries: int = 1024,
        max_bytes: int = 4 * 1024 * 1024,
        clock: Callable[[], float] = time.time,  # wall clock: `exp` is epoch seconds
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._clock = clock
        self._items: OrderedDict[bytes, _Cached] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @staticmethod
    def key(identity: Sequence[str]) -> bytes:
        return hashlib.sha256(json.dumps(list(identity)).encode()).digest()

    def get(self, identity: Sequence[str]) -> dict[str, Any] | None:
        key = self.key(identity)
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item.expires_at <= self._clock():
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return item.decision

    def put(self, identity: Sequence[str], decision: dict[str, Any]) -> None:
        expires_at = self._expiry(decision)
        size = len(json.dumps(decision, default=str)) + self.ENTRY_OVERHEAD
        if expires_at is None or size > self.max_bytes:
            return
        key = self.key(identity)
        with self._lock:
            self._drop(key)
            self._items[key] = _Cached(expires_at, decision, size)
            self.bytes += size
            while len(self._items) > self.max_entries or self.bytes > self.max_bytes:
                self._drop(next(iter(self._items)))

    def _expiry(self, decision: dict[str, Any]) -> float | None:
        if self.ttl_s <= 0 or decision.get("isAuthorized") is not True:
            return None
        now = self._clock()
        try:
            exp = float((decision.get("context") or {}).get("exp", now + self.ttl_s))
        except (TypeError, ValueError):
            return None  # an expiry we cannot read is not one we may cache past
        expires_at = min(now + self.ttl_s, exp)
        return expires_at if expires_at > now else None

    def _drop(self, key: bytes) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self.bytes -= item.size


def _identity(source: str, req: events.HttpRequest) -> str | None:
    kind, _, name = source.removeprefix("$request.").partition(".")
    if kind == "header":
        for k, v in req.headers:
            if k.lower() == name.lower():
                return v
        return None
    if kind == "querystring":
        values = parse_qs(req.query).get(name)
        return values[0] if values else None
    return None


def _event_size(event: dict[str, Any], body: bytes) -> int:
    """Bytes of the invoke payload. JSON escaping grows a body at most 6x (\\uXXXX), so a small body
    plus the head (capped at 10 KB) cannot reach the limit and skips the extra serialization."""
    if len(body) * 6 + 64 * 1024 < LAMBDA_SYNC_PAYLOAD.value:
        return 0
    return len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode())


class Invoker:
    """Synchronous invocations from the event loop: each function behind a gate of its concurrency."""

    def __init__(self, host_of: Callable[[str], FunctionHost], functions: Iterable[str]) -> None:
        self.host_of = host_of
        self._concurrency = {fn: host_of(fn).cfg.max_concurrency for fn in functions}
        self._gates: dict[str, asyncio.Semaphore] = {}
        # One thread per container that can be busy: a saturated function queues on its own gate,
        # never on threads another function needs.
        self._pool = ThreadPoolExecutor(max(1, sum(self._concurrency.values())), thread_name_prefix="invoke")

    async def invoke(self, function: str, event: dict[str, Any], timeout_s: float) -> InvokeResult | None:
        """The function's result, or None when it has not answered within timeout_s (queueing included)."""
        gate = self._gates.get(function) or self._gates.setdefault(
            function, asyncio.Semaphore(self._concurrency.get(function, 1))
        )
        try:
            async with asyncio.timeout(timeout_s):
                await gate.acquire()
                future = asyncio.get_running_loop().run_in_executor(self._pool, self.host_of(function).invoke, event)
                # The gate opens when the container is free, not when the caller stops waiting.
                future.add_done_callback(lambda _: gate.release())
                return await asyncio.shield(future)
        except TimeoutError:
            return None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class WebSocketEdge(Protocol):
    """The WebSocket side of the gateway (tradeplane_local.websocket_api): upgrades at /stream and the
    management API under /@connections."""

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None: ...

    async def manage(self, req: events.HttpRequest) -> Response: ...

    def accepts(self, path: str) -> bool: ...


CONNECTIONS_PREFIX = "/@connections/"


class Gateway:
    """Routing, the authorizer and the integration: one request in, one response out."""

    def __init__(
        self,
        routes: Sequence[Route],
        host_of: Callable[[str], FunctionHost],
        authorizer: AuthorizerConfig | None,
        on_error: Callable[[str, InvokeResult], None] = lambda fn, r: None,
        edge: EdgeSettings | None = None,
    ) -> None:
        self.router = Router(routes)
        self.host_of = host_of
        self.authorizer = authorizer
        self.cache = AuthorizerCache(authorizer.ttl_s if authorizer else 0)
        self.on_error = on_error
        self.edge = edge or EdgeSettings()
        functions = {r.function for r in routes} | ({authorizer.function} if authorizer else set())
        self.invoker = Invoker(host_of, functions)
        self.websocket: WebSocketEdge | None = None  # set by the runtime when the manifest has WebSocket routes

    @classmethod
    def from_manifest(
        cls, manifest: Any, host_of: Callable[[str], FunctionHost], edge: EdgeSettings | None = None
    ) -> Gateway:
        routes = [Route.of(t, f.name) for t, f in manifest.routes()]
        auth = manifest.authorizer()
        config = None
        if auth is not None:
            trig = auth.triggers_of(AuthorizerTrigger)[0]
            config = AuthorizerConfig(auth.name, trig.identity_sources, trig.result_ttl_s)
        return cls(routes, host_of, config, edge=edge)

    def close(self) -> None:
        self.invoker.close()

    async def handle(self, req: events.HttpRequest) -> Response:
        if self.websocket is not None and unquote(req.path).startswith(CONNECTIONS_PREFIX):
            return await self.websocket.manage(req)
        return await self._route(req)

    async def _route(self, req: events.HttpRequest) -> Response:
        route, params, allowed = self.router.match(req.method, req.path)
        if route is None:
            if allowed:
                return gateway_error(405, "Method Not Allowed", [("Allow", ", ".join(allowed))])
            return gateway_error(404, "Not Found")
        context = None
        if route.auth:
            denied, context = await self._authorize(req, route, params)
            if denied:
                return denied
        event = events.http_api_event(req, route.key, params, context)
        if _event_size(event, req.body) > self.edge.max_event_bytes:
            return limit_error(LAMBDA_SYNC_PAYLOAD)
        result = await self.invoke(route.function, event, self.edge.integration_timeout_s)
        if result is not None and not result.ok:
            self.on_error(route.function, result)
        if result is None or result.error_type == "Sandbox.Timedout":
            return limit_error(INTEGRATION_TIMEOUT)
        if not result.ok:
            return gateway_error(500, "Internal Server Error")
        try:
            return events.http_response(result.result)
        except (TypeError, ValueError, KeyError):
            return gateway_error(500, "Internal Server Error")

    async def invoke(self, function: str, event: dict[str, Any], timeout_s: float) -> InvokeResult | None:
        return await self.invoker.invoke(function, event, timeout_s)

    async def _authorize(
        self, req: events.HttpRequest, route: Route, params: dict[str, str]
    ) -> tuple[Response | None, dict[str, Any] | None]:
        if self.authorizer is None:
            return gateway_error(500, "Internal Server Error"), None
        identity = [_identity(s, req) for s in self.authorizer.identity_sources]
        if any(v is None or v == "" for v in identity):
            return gateway_error(401, "Unauthorized"), None  # AWS answers before invoking the authorizer
        values = [str(v) for v in identity]
        decision = self.cache.get(values)
        if decision is None:
            decision = await self._decide(req, route, values, params)
            if decision is None:
                return gateway_error(500, "Internal Server Error"), None
            self.cache.put(values, decision)
        if decision.get("isAuthorized") is not True:
            return gateway_error(403, "Forbidden"), None
        return None, dict(decision.get("context") or {})

    async def _decide(
        self, req: events.HttpRequest, route: Route, identity: list[str], params: dict[str, str]
    ) -> dict[str, Any] | None:
        assert self.authorizer is not None
        event = events.authorizer_event(req, route.key, identity, params)
        result = await self.invoke(self.authorizer.function, event, self.edge.authorizer_timeout_s)
        if result is None:
            return None
        if not result.ok or not isinstance(result.result, dict) or "isAuthorized" not in result.result:
            self.on_error(self.authorizer.function, result)
            return None
        return result.result


# --------------------------------------------------------------------------- ASGI side


class DisconnectedError(Exception):
    """The client went away before its request was complete."""


def head_size(scope: Scope) -> int:
    """Request line plus header values, as API Gateway counts its 10240-byte quota."""
    target = len(scope["raw_path"]) + (len(scope["query_string"]) + 1 if scope["query_string"] else 0)
    line = len(scope["method"]) + 1 + target + len(" HTTP/") + len(scope["http_version"])
    return line + sum(len(value) for _, value in scope["headers"])


def declared_length(scope: Scope) -> int:
    """Content-Length as h11 validated it (digits only, one value), or 0 (chunked, no body, or
    unreadable: the body is still counted as it is read)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0


async def read_body(receive: Receive, limit: int, timeout_s: float) -> bytes | Response:
    """The whole body (h11 has undone chunking), or the answer for one too large or too slow."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise DisconnectedError
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    return limit_error(HTTP_API_PAYLOAD, close=True)
                chunks.append(chunk)
                if not message.get("more_body"):
                    return b"".join(chunks)
    except TimeoutError:
        return gateway_error(408, "Request Timeout", [("Connection", "close")])


async def read_request(scope: Scope, receive: Receive, edge: EdgeSettings) -> events.HttpRequest | Response:
    if head_size(scope) > edge.max_head_bytes:
        return limit_error(REQUEST_HEADERS, close=True)
    if declared_length(scope) > edge.max_body_bytes:
        return limit_error(HTTP_API_PAYLOAD, close=True)
    body = await read_body(receive, edge.max_body_bytes, edge.body_timeout_s)
    if isinstance(body, tuple):
        return body
    client = scope.get("client") or ("127.0.0.1", 0)
    return events.HttpRequest(
        method=scope["method"],
        path=scope["raw_path"].decode("latin-1"),
        query=scope["query_string"].decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
        body=body,
        source_ip=str(client[0]),
        protocol=f"HTTP/{scope['http_version']}",
    )


def _encode_headers(headers: Iterable[tuple[str, str]], length: int) -> list[tuple[bytes, bytes]]:
    """Response headers for the wire; ValueError for one that would split or corrupt the response."""
    out = [(b"content-length", str(length).encode())]
    for name, value in headers:
        lowered = name.lower()
        if lowered in ("content-length", "transfer-encoding") or (lowered == "connection" and value != "close"):
            continue  # framing is the server's business
        if not _TOKEN.match(name) or any(c in value for c in "\r\n\0"):
            raise ValueError(f"invalid response header {name!r}")
        out.append((lowered.encode(), value.encode("latin-1")))
    if not any(name == b"content-type" for name, _ in out) and length:
        out.append((b"content-type", b"application/json"))
    return out


async def send_response(send: Send, method: str, response: Response) -> None:
    status, headers, body = response
    try:
        raw = _encode_headers(headers, len(body))
    except (ValueError, UnicodeEncodeError):
        status, headers, body = gateway_error(500, "Internal Server Error")
        raw = _encode_headers(headers, len(body))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


class HttpApp:
    """An ASGI app around a request -> response handler: the edge table first, never a traceback out."""

    def __init__(
        self,
        handler: Callable[[events.HttpRequest], Awaitable[Response]],
        edge: EdgeSettings,
        on_bug: Callable[[], None] = lambda: None,
        websocket: WebSocketEdge | None = None,
    ) -> None:
        self.handler = handler
        self.edge = edge
        self.on_bug = on_bug
        self.websocket = websocket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if self.websocket is not None and self.websocket.accepts(scope["path"]):
                await self.websocket.serve(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1008})  # no WebSocket API here: 403
            return
        try:
            req = await read_request(scope, receive, self.edge)
            response = req if isinstance(req, tuple) else await self.handler(req)
        except DisconnectedError:
            return
        except Exception:  # noqa: BLE001 - a bug answers 500; its details never reach the client
            self.on_bug()
            response = gateway_error(500, "Internal Server Error")
        await send_response(send, scope["method"], response)


# --------------------------------------------------------------------------- the server


class _LineHandler(logging.Handler):
    """Server log records as single lines, never with a traceback."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink(f"{record.name}: {record.getMessage()}")


class AsgiServer:
    """An ASGI app served by hypercorn on its own event-loop thread.

    The socket is bound up front, so port 0 works and the URL is known before
    serving; `certificate` (cert, key) serves TLS 1.2+ instead of plain HTTP.
    """

    def __init__(
        self,
        app: AsgiApp,
        host: str,
        port: int,
        edge: EdgeSettings | None = None,
        certificate: tuple[Path, Path] | None = None,
        name: str = "gateway",
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.app = app
        self.name = name
        self._sock = socket.create_server((host, port), backlog=128)
        self.server_address: tuple[str, int] = self._sock.getsockname()[:2]
        self.scheme = "https" if certificate else "http"
        self._config = _hypercorn_config(edge or EdgeSettings(), certificate, name, log)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"{self.scheme}://{host}:{port}"

    def start(self) -> None:
        self._config.bind = [f"fd://{self._sock.detach()}"]
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError(f"{self.name} server did not start")

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        # Our scopes are plain mappings; hypercorn's TypedDicts describe the same messages.
        app = cast(ASGIFramework, self._with_lifespan)
        await serve(app, self._config, shutdown_trigger=self._stop.wait, mode="asgi")

    async def _with_lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while (await receive())["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            self._ready.set()
        await send({"type": "lifespan.shutdown.complete"})

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=15)


def _hypercorn_config(
    edge: EdgeSettings, certificate: tuple[Path, Path] | None, name: str, log: Callable[[str], None]
) -> Config:
    config = Config()
    config.include_server_header = False  # no version for a scanner to match
    config.h11_max_incomplete_size = HEAD_HARD_CAP
    config.keep_alive_timeout = edge.idle_timeout_s
    config.keep_alive_max_requests = 1_000_000  # hypercorn closes after 1000 by default; AWS sets no such cap
    config.read_timeout = edge.read_timeout_s
    config.ssl_handshake_timeout = edge.tls_handshake_timeout_s
    config.graceful_timeout = 2.0
    config.accesslog = None
    config.websocket_max_message_size = WEBSOCKET_MESSAGE.value  # larger messages close the socket (1009)
    errors = logging.Logger(f"tradeplane.{name}", logging.WARNING)
    errors.addHandler(_LineHandler(log))
    config.errorlog = errors
    if certificate is not None:
        config.certfile, config.keyfile = (str(p) for p in certificate)
        config.alpn_protocols = ["http/1.1"]
    return config


class GatewayServer(AsgiServer):
    def __init__(
        self,
        gateway: Gateway,
        host: str,
        port: int,
        certificate: tuple[Path, Path] | None = None,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        app = HttpApp(gateway.handle, gateway.edge, self._report_bug, gateway.websocket)
        super().__init__(app, host, port, gateway.edge, certificate, "gateway", log)
        self.gateway = gateway

    def _report_bug(self) -> None:
        self.gateway.on_error("gateway", InvokeResult(False, "-", error={"errorType": "GatewayError"}))

    def stop(self) -> None:
        super().stop()
        self.gateway.close()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and its key (PEM files), generated once per state dir.

    hypercorn builds the TLS context from them: TLS 1.2 at least, ECDHE+AESGCM, no compression."""
    cert, key = directory / "gateway-cert.pem", directory / "gateway-key.pem"
    if not cert.exists() or not key.exists():
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        private = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .sign(private, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        key.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key.chmod(0o600)
        cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert, key
