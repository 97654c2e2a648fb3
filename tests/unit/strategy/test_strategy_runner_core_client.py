"""The Core API client: retries with backoff inside the time budget, refusals, duplicates, tokens."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

import pytest
from tp_strategy.core_client import (
    CoreClient,
    CoreRefusedError,
    CoreUnavailableError,
    Response,
    Retry,
    TokenCache,
    unfilled_qty,
)
from tradeplane.tokens import verify
from tradeplane_tools.keys import generate_keyset


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """Answers each call with the next scripted item (a Response, or an exception to raise)."""

    def __init__(self, *items: Response | Exception) -> None:
        self.items, self.calls = list(items), []  # type: ignore[var-annotated]

    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float
    ) -> Response:
        self.calls.append((method, url, dict(headers), body))
        item = self.items.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def ok(body: object) -> Response:
    return Response(200, json.dumps(body).encode())


def client(script: Script, clock: Clock, budget_s: float = 10.0) -> CoreClient:
    c = CoreClient("http://core/", lambda account: f"token-{account}", transport=script, retry=Retry(0.2, 1.0),
                   sleep=clock.sleep, clock=clock)  # fmt: skip
    c.deadline = clock.now + budget_s
    return c


def test_outage_is_retried_with_growing_capped_pauses_then_answers() -> None:
    clock = Clock()
    script = Script(
        ConnectionRefusedError("down"), Response(503, b""), Response(502, b""), ok({"equity": "100", "cash": "40"})
    )
    account = client(script, clock).account("acc-1")
    assert account.equity == Decimal("100") and account.cash == Decimal("40")
    assert len(script.calls) == 4 and len(clock.sleeps) == 3
    assert all(0 <= pause <= min(1.0, 0.2 * 2**i) for i, pause in enumerate(clock.sleeps))
    assert (
        script.calls[0][2]["Authorization"] == "Bearer token-acc-1" and script.calls[0][1] == "http://core/v2/account"
    )


def test_outage_longer_than_the_budget_raises_unavailable_without_overrunning() -> None:
    clock = Clock()
    script = Script(*[Response(503, b"")] * 1000)
    with pytest.raises(CoreUnavailableError, match="out of time"):
        client(script, clock, budget_s=5.0).account("acc-1")
    assert clock.now <= 5.0 and len(script.calls) > 3


def test_a_refusal_is_not_retried() -> None:
    clock = Clock()
    script = Script(Response(403, json.dumps({"code": 40310000, "message": "account is not active"}).encode()))
    with pytest.raises(CoreRefusedError, match="account is not active") as info:
        client(script, clock).submit_market("acc-1", "AAPL", "buy", Decimal(3), "st-x")
    assert info.value.status == 403 and len(script.calls) == 1


def test_duplicate_client_order_id_counts_as_submitted() -> None:
    clock = Clock()
    dup = Response(422, json.dumps({"code": 42210000, "message": "client_order_id must be unique"}).encode())
    assert client(Script(dup), clock).submit_market("acc-1", "AAPL", "sell", Decimal("1.5"), "st-x") is True
    other = Response(422, json.dumps({"code": 40010001, "message": "qty must be > 0"}).encode())
    with pytest.raises(CoreRefusedError):
        client(Script(other), clock).submit_market("acc-1", "AAPL", "sell", Decimal("1.5"), "st-x")


def test_order_body_and_position_reading() -> None:
    clock = Clock()
    script = Script(
        Response(404, b'{"message": "position does not exist"}'), ok({"qty": "-4", "side": "short"}), ok({})
    )
    c = client(script, clock)
    assert c.position_qty("acc-1", "AAPL") == 0 and c.position_qty("acc-1", "AAPL") == Decimal(-4)
    c.submit_market("acc-1", "BRK.B", "buy", Decimal("2"), "st-abc")
    method, url, headers, body = script.calls[-1]
    assert (method, url, headers["Content-Type"]) == ("POST", "http://core/v2/orders", "application/json")
    assert json.loads(body or b"") == {"symbol": "BRK.B", "qty": "2", "side": "buy", "type": "market",
                                       "time_in_force": "day", "client_order_id": "st-abc"}  # fmt: skip


def test_token_cache_reuses_until_a_minute_before_expiry() -> None:
    clock, minted = Clock(), []

    def mint(account: str, ttl: int) -> str:
        minted.append(account)
        return f"{account}-{len(minted)}"

    tokens = TokenCache(mint, ttl_s=300, renew_before_s=60, clock=clock)
    assert tokens("a") == tokens("a") == "a-1" and tokens("b") == "b-2"
    clock.now = 239.0
    assert tokens("a") == "a-1"
    clock.now = 241.0
    assert tokens("a") == "a-3"


def test_minted_service_token_is_bound_to_the_account_with_trading_scopes() -> None:
    from tp_strategy.core_client import minter

    keyset = generate_keyset("k1")
    token = minter(lambda: keyset, "strategy_runner", "tradeplane-api")("5f0b0cf5-8b5e-4f55-9d2e-8b3b8a1a0d11", 300)
    claims = verify(keyset, token, "tradeplane-api")
    assert claims.sub == "svc:strategy_runner"
    assert set(claims.scope) == {"service", "trading:read", "trading:write"}
    assert claims.extra()["account_id"] == "5f0b0cf5-8b5e-4f55-9d2e-8b3b8a1a0d11"


def test_open_orders_count_toward_the_position_they_will_make() -> None:
    clock = Clock()
    orders = [
        {"side": "buy", "qty": "10", "filled_qty": "4"},
        {"side": "sell", "qty": "3", "filled_qty": "0"},
        {"side": "buy", "qty": None, "notional": "500", "filled_qty": "0"},  # notional: not counted
    ]
    script = Script(ok(orders))
    assert unfilled_qty(client(script, clock).open_orders("acc-1", "BRK.B")) == Decimal(3)
    assert script.calls[0][1] == "http://core/v2/orders?status=open&symbols=BRK.B&limit=500"
