"""A local API Gateway HTTP API: routes from the manifest, Lambda authorizer, payload 2.0.

Requests become HTTP API v2 events; routes that ask for auth first run the
authorizer (simple responses, result cached per identity for its TTL, as in
AWS); the function's return value is mapped back to an HTTP response. Gateway
errors use API Gateway's own bodies ({"message": ...}); the functions answer
with RFC 9457 problems themselves.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tradeplane_tools.manifest import AuthorizerTrigger, HttpTrigger

from tradeplane_local import events
from tradeplane_local.host import FunctionHost, InvokeResult

MAX_BODY = 10 * 1024 * 1024  # HTTP API payload limit


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


class AuthorizerCache:
    """Authorizer results per identity, for the authorizer's TTL (0 disables caching)."""

    def __init__(self, ttl_s: int) -> None:
        self.ttl_s = ttl_s
        self._items: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, identity: tuple[str, ...]) -> dict[str, Any] | None:
        with self._lock:
            item = self._items.get(identity)
            if item and item[0] > time.monotonic():
                return item[1]
            self._items.pop(identity, None)
            return None

    def put(self, identity: tuple[str, ...], result: dict[str, Any]) -> None:
        if self.ttl_s > 0:
            with self._lock:
                self._items[identity] = (time.monotonic() + self.ttl_s, result)


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


Response = tuple[int, list[tuple[str, str]], bytes]


def _gateway_error(status: int, message: str, extra: Sequence[tuple[str, str]] = ()) -> Response:
    return status, [("Content-Type", "application/json"), *extra], json.dumps({"message": message}).encode()


class Gateway:
    def __init__(
        self,
        routes: Sequence[Route],
        host_of: Callable[[str], FunctionHost],
        authorizer: AuthorizerConfig | None,
        on_error: Callable[[str, InvokeResult], None] = lambda fn, r: None,
    ) -> None:
        self.router = Router(routes)
        self.host_of = host_of
        self.authorizer = authorizer
        self.cache = AuthorizerCache(authorizer.ttl_s if authorizer else 0)
        self.on_error = on_error

    @classmethod
    def from_manifest(cls, manifest: Any, host_of: Callable[[str], FunctionHost]) -> Gateway:
        routes = [Route.of(t, f.name) for t, f in manifest.routes()]
        auth = manifest.authorizer()
        config = None
        if auth is not None:
            trig = auth.triggers_of(AuthorizerTrigger)[0]
            config = AuthorizerConfig(auth.name, trig.identity_sources, trig.result_ttl_s)
        return cls(routes, host_of, config)

    def handle(self, req: events.HttpRequest) -> Response:
        route, params, allowed = self.router.match(req.method, req.path)
        if route is None:
            if allowed:
                return _gateway_error(405, "Method Not Allowed", [("Allow", ", ".join(allowed))])
            return _gateway_error(404, "Not Found")
        context = None
        if route.auth:
            denied, context = self._authorize(req, route, params)
            if denied:
                return denied
        event = events.http_api_event(req, route.key, params, context)
        result = self.host_of(route.function).invoke(event)
        if not result.ok:
            self.on_error(route.function, result)
            if result.error_type == "Sandbox.Timedout":
                return _gateway_error(503, "Service Unavailable")
            return _gateway_error(500, "Internal Server Error")
        try:
            return events.http_response(result.result)
        except (TypeError, ValueError, KeyError):
            return _gateway_error(500, "Internal Server Error")

    def _authorize(
        self, req: events.HttpRequest, route: Route, params: dict[str, str]
    ) -> tuple[Response | None, dict[str, Any] | None]:
        if self.authorizer is None:
            return _gateway_error(500, "Internal Server Error"), None
        identity = [_identity(s, req) for s in self.authorizer.identity_sources]
        if any(v is None or v == "" for v in identity):
            return _gateway_error(401, "Unauthorized"), None  # AWS answers before invoking the authorizer
        key = tuple(str(v) for v in identity)
        decision = self.cache.get(key)
        if decision is None:
            event = events.authorizer_event(req, route.key, list(key), params)
            result = self.host_of(self.authorizer.function).invoke(event)
            if not result.ok or not isinstance(result.result, dict) or "isAuthorized" not in result.result:
                self.on_error(self.authorizer.function, result)
                return _gateway_error(500, "Internal Server Error"), None
            decision = result.result
            self.cache.put(key, decision)
        if decision.get("isAuthorized") is not True:
            return _gateway_error(403, "Forbidden"), None
        return None, dict(decision.get("context") or {})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients of API Gateway expect
    # One buffered write per response (flushed by http.server after each request) and no Nagle:
    # unbuffered header/body writes meet the client's delayed ACK and cost ~40 ms a request.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: GatewayServer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(*_gateway_error(413, "Request Entity Too Large"))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        req = events.HttpRequest(
            method=self.command,
            path=path,
            query=query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        try:
            response = self.server.gateway.handle(req)
        except Exception:  # noqa: BLE001 - the gateway never drops a connection on a bug
            self.server.gateway.on_error("gateway", InvokeResult(False, "-", error={"errorType": "GatewayError"}))
            response = _gateway_error(500, "Internal Server Error")
        self._send(*response)

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        names = {k.lower() for k, _ in headers}
        for k, v in headers:
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        if "content-type" not in names and body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass  # access logs go through the runtime's logger instead of stderr


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, gateway: Gateway, host: str, port: int, tls: ssl.SSLContext | None = None) -> None:
        super().__init__((host, port), _Handler)
        self.gateway = gateway
        if tls is not None:
            # The handshake runs in the request's thread (see _Handler.setup), not in the accept loop.
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.scheme = "https" if tls else "http"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that resets mid-request or fails the TLS handshake affects only itself

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"


def self_signed_tls(directory: Path) -> ssl.SSLContext:
    """A TLS context with a self-signed certificate for localhost, generated once per state dir."""
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
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context
