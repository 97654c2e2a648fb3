"""The Core API over HTTP, as the strategy runner's service: account, position, market orders.

Each call carries a service token (`svc:strategy_runner`, audience = the API's) bound to the
strategy's account with the trading scopes, so the Core authorizer and routes treat it as
that account's credential: the same checks (active account, allowlist, risk) apply as to a
user's program. Tokens are minted locally from the signing keyset and reused until a minute
before they expire.

Outages (connection errors, timeouts, 429 and 5xx) are retried with capped exponential
backoff and full jitter for as long as the caller's time budget allows, then `CoreUnavailableError`
is raised: the runner fails the batch and Kafka delivers the bar again. Retrying an order is
safe because it carries its client_order_id: the Core API answers a repeat with the order the
first attempt created. Any other 4xx is `CoreRefusedError` (it will not get better by retrying).
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
DUPLICATE_CLIENT_ORDER_ID = "client_order_id must be unique"


class CoreUnavailableError(Exception):
    """The Core API did not answer usefully within the time budget."""


class CoreRefusedError(Exception):
    """The Core API refused the request (a 4xx other than a throttle): retrying cannot help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message = status, message


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def message(self) -> str:
        try:
            body = self.json()
        except ValueError:
            return self.body[:200].decode(errors="replace")
        if isinstance(body, dict):
            return str(body.get("message") or body.get("detail") or body.get("title") or "")[:300]
        return ""


class Transport(Protocol):
    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float
    ) -> Response: ...


class KeepAliveTransport:
    """HTTP/1.1 with the standard library (no client library in the function's layers for a few calls), one
    persistent connection per thread and host: in AWS a new connection per call would pay a TCP and TLS
    handshake for each of a signal's 4-6 calls. A reused connection the server has closed meanwhile (idle
    timeout, a frozen container) is reopened once at once; any other failure goes to the caller's retries."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float
    ) -> Response:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http"):
            raise ValueError("the Core API is reached over http(s) only")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        pool: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault("pool", {})
        key = (parts.scheme, parts.netloc)
        reused = key in pool
        while True:
            conn = pool.get(key)
            if conn is None:
                kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
                conn = pool[key] = kind(parts.netloc, timeout=timeout)
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            try:
                conn.request(method, path, body=body, headers=dict(headers))
                reply = conn.getresponse()
                return Response(reply.status, reply.read())
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                pool.pop(key).close()
                if not reused:
                    raise
                reused = False  # a stale kept-alive connection: once more on a new one
            except OSError:  # refused, timeout, DNS: the caller's retries decide
                pool.pop(key).close()
                raise
            except http.client.HTTPException as exc:  # a malformed or cut answer: the same to the caller
                pool.pop(key).close()
                raise ConnectionError(f"bad HTTP answer: {exc!r}") from exc


@dataclass(frozen=True)
class Retry:
    base_s: float = 0.2
    cap_s: float = 3.0

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
        return float(rng() * min(self.cap_s, self.base_s * 2**attempt))


class TokenCache:
    """One account-bound service token per account, reused until `renew_before_s` before it expires."""

    def __init__(
        self,
        mint: Callable[[str, int], str],
        ttl_s: int = 300,
        renew_before_s: int = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._mint, self.ttl_s, self.renew_before_s, self._clock = mint, ttl_s, renew_before_s, clock
        self._tokens: dict[str, tuple[float, str]] = {}

    def __call__(self, account_id: str) -> str:
        now = self._clock()
        hit = self._tokens.get(account_id)
        if hit is not None and hit[0] - self.renew_before_s > now:
            return hit[1]
        token = self._mint(account_id, self.ttl_s)
        self._tokens[account_id] = (now + self.ttl_s, token)
        return token


def minter(keyset: Callable[[], Mapping[str, Any]], caller: str, audience: str) -> Callable[[str, int], str]:
    """Mint account-bound service tokens with the trading scopes (`tradeplane.tokens.issue_service_token`)."""
    from tradeplane.tokens import issue_service_token

    def mint(account_id: str, ttl_s: int) -> str:
        return issue_service_token(
            keyset(), caller, audience, ttl_s=ttl_s, account_id=account_id, scope=("trading:read", "trading:write")
        )

    return mint


@dataclass(frozen=True)
class Account:
    equity: Decimal
    cash: Decimal


def unfilled_qty(orders: Iterable[Mapping[str, Any]]) -> Decimal:
    """The signed quantity `orders` still have to fill (buys +, sells -); notional orders (never the runner's)
    are left out. An order sent on an earlier bar may not have filled yet (the executor is asynchronous):
    sizing against the position alone would then buy twice or skip an exit."""
    total = Decimal(0)
    for order in orders:
        if order.get("qty") is None:
            continue
        left = Decimal(str(order["qty"])) - Decimal(str(order.get("filled_qty") or 0))
        total += left if order.get("side") == "buy" else -left
    return total


class CoreClient:
    def __init__(
        self,
        base_url: str,
        tokens: Callable[[str], str],
        *,
        transport: Transport | None = None,
        timeout_s: float = 3.0,
        retry: Retry = Retry(),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._tokens, self.transport, self.timeout_s = tokens, transport or KeepAliveTransport(), timeout_s
        self._retry, self._sleep, self._clock = retry, sleep, clock
        self.deadline: float = float("inf")  # monotonic time after which no new attempt starts
        self.attempts = 0  # every HTTP attempt, retries included (metrics and tests)

    def _call(self, account_id: str, method: str, path: str, body: Any = None) -> Response:
        headers = {"Authorization": f"Bearer {self._tokens(account_id)}", "Accept": "application/json"}
        payload = None
        if body is not None:
            payload, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        attempt, last = 0, "no attempt"
        while True:
            timeout = min(self.timeout_s, self.deadline - self._clock())
            if timeout <= 0.05:
                raise CoreUnavailableError(f"{method} {path}: out of time after {attempt} attempt(s); last: {last}")
            self.attempts += 1
            try:
                reply = self.transport(method, self.base_url + path, headers, payload, timeout)
            except (OSError, TimeoutError) as exc:  # refused, reset, DNS, timeout, a cut answer
                last = f"{type(exc).__name__}: {exc}"[:200]
            else:
                if reply.status not in RETRYABLE:
                    return reply
                last = f"HTTP {reply.status}"
            pause = self._retry.delay(attempt)
            attempt += 1
            if self._clock() + pause >= self.deadline:
                raise CoreUnavailableError(f"{method} {path}: out of time after {attempt} attempt(s); last: {last}")
            self._sleep(pause)

    def _ok(self, reply: Response) -> Any:
        if 200 <= reply.status < 300:
            return reply.json()
        raise CoreRefusedError(reply.status, reply.message())

    def account(self, account_id: str) -> Account:
        body = self._ok(self._call(account_id, "GET", "/v2/account"))
        return Account(Decimal(str(body["equity"])), Decimal(str(body["cash"])))

    def position_qty(self, account_id: str, symbol: str) -> Decimal:
        """The signed position (negative when short); zero when the account holds none."""
        reply = self._call(account_id, "GET", f"/v2/positions/{quote(symbol, safe='')}")
        if reply.status == 404:
            return Decimal(0)
        body = self._ok(reply)
        qty = Decimal(str(body["qty"]))
        return -abs(qty) if body.get("side") == "short" else qty

    def open_orders(self, account_id: str, symbol: str) -> list[dict[str, Any]]:
        """The account's open orders in `symbol` (Alpaca's order objects)."""
        query = urlencode({"status": "open", "symbols": symbol, "limit": 500})
        body = self._ok(self._call(account_id, "GET", f"/v2/orders?{query}"))
        return list(body or [])

    def cancel(self, account_id: str, order_id: str) -> None:
        """Ask for an order's cancel; an order already gone (404) or past cancelling (422: filled) is no error."""
        reply = self._call(account_id, "DELETE", f"/v2/orders/{quote(order_id, safe='')}")
        if reply.status in (404, 422):
            return
        self._ok(reply)

    def wait_closed(self, account_id: str, symbol: str, order_ids: set[str]) -> list[dict[str, Any]]:
        """Poll the open orders until none of `order_ids` is among them (a `pending_cancel` one waits for the
        executor); the open orders left. Out of time: `CoreUnavailableError` (the batch is redelivered)."""
        attempt = 0
        while True:
            orders = self.open_orders(account_id, symbol)
            if not any(str(o.get("id")) in order_ids for o in orders):
                return orders
            pause = self._retry.delay(attempt, rng=lambda: 1.0)  # no jitter: one poller per order
            attempt += 1
            if self._clock() + pause >= self.deadline:
                raise CoreUnavailableError(f"orders {sorted(order_ids)} still open after their cancel")
            self._sleep(pause)

    def submit_market(self, account_id: str, symbol: str, side: str, qty: Decimal, client_order_id: str) -> bool:
        """Submit a day market order; True when this or an earlier attempt created it.

        A 422 "client_order_id must be unique" means an order with that id exists already (sent by an
        earlier delivery of the same bar): done, never a second order.
        """
        body = {
            "symbol": symbol,
            "qty": str(qty),
            "side": side,
            "type": "market",
            "time_in_force": "day",
            "client_order_id": client_order_id,
        }
        reply = self._call(account_id, "POST", "/v2/orders", body)
        if reply.status == 422 and DUPLICATE_CLIENT_ORDER_ID in reply.message():
            return True
        self._ok(reply)
        return True
