"""The authorization matrix: every Core API route x (anonymous, expired token, service token for another
service, token without scopes, another user, another account's key), each with its expected status.

Another user's or another account's resources are 404, never 200 or 403; a credential that authenticates
no one is 401; a missing scope is 403. The owner's order is untouched afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from support.core_api import MANIFEST, Api, Trader, new_trader
from tradeplane.tokens import issue, issue_service_token

pytestmark = pytest.mark.integration

# route -> (status for another user's account-bound token, status for another account's API key)
EXPECTED: dict[str, tuple[int, int]] = {
    "POST /v1/api-keys": (404, 403),
    "GET /v1/api-keys": (200, 403),
    "DELETE /v1/api-keys/{key_id}": (404, 403),
    "POST /v1/accounts": (201, 403),
    "GET /v1/accounts": (200, 403),
    "GET /v1/accounts/{account_id}": (404, 403),
    "POST /v1/accounts/{account_id}/close": (404, 403),
    "POST /v1/accounts/{account_id}/cash-movements": (404, 403),
    "GET /v1/accounts/{account_id}/risk-settings": (404, 403),
    "PUT /v1/accounts/{account_id}/risk-settings": (404, 403),
    "GET /v1/accounts/{account_id}/ip-allowlist": (404, 403),
    "PUT /v1/accounts/{account_id}/ip-allowlist": (404, 403),
    "PUT /v1/accounts/{account_id}/kill-switch": (404, 403),
    "GET /v2/account": (200, 200),
    "GET /v2/account/configurations": (200, 200),
    "PATCH /v2/account/configurations": (200, 200),
    "POST /v2/orders": (200, 200),
    "GET /v2/orders": (200, 200),
    "GET /v2/orders/{order_id}": (404, 404),
    "GET /v2/orders:by_client_order_id": (404, 404),
    "PATCH /v2/orders/{order_id}": (404, 404),
    "DELETE /v2/orders/{order_id}": (404, 404),
    "DELETE /v2/orders": (207, 207),
    "GET /v2/positions": (200, 200),
    "GET /v2/positions/{symbol_or_asset_id}": (404, 404),
    "DELETE /v2/positions/{symbol_or_asset_id}": (404, 404),
    "DELETE /v2/positions": (207, 207),
    "GET /v2/account/activities": (200, 200),
    "GET /v2/account/activities/{activity_type}": (200, 200),
    "GET /v2/account/portfolio/history": (200, 200),
}

# Reference data: any authenticated caller reads it, whatever its scopes or account; writing it takes `admin`.
REFERENCE: dict[str, int] = {
    "GET /v2/assets": 200,
    "GET /v2/assets/{symbol_or_asset_id}": 200,
    "GET /v2/clock": 200,
    "GET /v2/calendar": 200,
    "PUT /v1/instruments": 403,
}

BODIES: dict[str, Any] = {
    "PUT /v1/instruments": {"instruments": {"ROKU": {"exchange": "NASDAQ"}}},
    "POST /v1/accounts": {"starting_cash": "10"},
    "POST /v1/accounts/{account_id}/cash-movements": {"type": "deposit", "amount": "1", "idempotency_key": "m"},
    "PUT /v1/accounts/{account_id}/risk-settings": {},
    "PUT /v1/accounts/{account_id}/ip-allowlist": {"cidrs": []},
    "PUT /v1/accounts/{account_id}/kill-switch": {"trading_blocked": True},
    "PATCH /v2/account/configurations": {},
    "POST /v2/orders": {
        "symbol": "AAPL",
        "qty": 1,
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "limit_price": 1,
    },
    "PATCH /v2/orders/{order_id}": {"qty": 2},
}


def core_routes() -> list[str]:
    return sorted(
        f"{t.method} {t.path}" for t, f in MANIFEST.routes() if f.component == "core" and t.auth == "authorizer"
    )


@pytest.fixture(scope="module")
def world(api: Api, core_env: dict[str, Any]) -> dict[str, Any]:
    owner, other = new_trader(api), new_trader(api)
    order = api.post("/v2/orders", {**BODIES["POST /v2/orders"], "client_order_id": "owner-1"}, headers=owner.key).body
    with psycopg.connect(core_env["dsn"]) as conn:
        conn.execute(
            "insert into trading.positions (account_id, symbol, qty, avg_entry_price) values (%s, 'AAPL', 3, 10)",
            (owner.account_id,),
        )
    keyset = core_env["keyset"]
    bound = {"token_use": "access", "account_id": other.account_id}
    scopes = ["accounts:read", "accounts:write", "api-keys", "trading:read", "trading:write"]
    other_user = issue(keyset, other.user_id, "tradeplane-api", scope=scopes, extra_claims=bound)
    no_scope = issue(keyset, owner.user_id, "tradeplane-api", extra_claims={"account_id": owner.account_id})
    expired = issue(
        keyset, owner.user_id, "tradeplane-api", scope=scopes, ttl_s=60, now=datetime.now(UTC) - timedelta(hours=1)
    )
    return {
        "owner": owner,
        "order": order,
        "params": {
            "account_id": owner.account_id,
            "key_id": owner.key_id,
            "order_id": order["id"],
            "symbol_or_asset_id": "AAPL",
            "activity_type": "FILL",
        },
        "credentials": {
            "anonymous": {},
            "expired token": {"Authorization": f"Bearer {expired}"},
            "service token for another service": {
                "Authorization": f"Bearer {issue_service_token(keyset, 'executor', 'strategy')}"
            },
            "no scopes": {"Authorization": f"Bearer {no_scope}"},
            "another user": {"Authorization": f"Bearer {other_user}"},
            "another account's key": other.key,
        },
    }


def expected(route: str, who: str) -> set[int]:
    if who in ("anonymous", "expired token", "service token for another service"):
        return {401}
    if route in REFERENCE:
        return {REFERENCE[route]}
    if who == "no scopes":
        return {403}
    return {EXPECTED[route][0 if who == "another user" else 1]}


def test_every_core_route_is_in_the_matrix() -> None:
    assert core_routes() == sorted({**EXPECTED, **REFERENCE})


@pytest.mark.parametrize(
    "who",
    [
        "anonymous",
        "expired token",
        "service token for another service",
        "no scopes",
        "another user",
        "another account's key",
    ],
)
def test_matrix(api: Api, world: dict[str, Any], who: str) -> None:
    headers = world["credentials"][who]
    got = {}
    for route in core_routes():
        method, template = route.split(" ", 1)
        path = template.format(**world["params"])
        body = BODIES.get(route)
        if route == "POST /v1/api-keys":
            body = {"account_id": world["owner"].account_id}
        query = {"client_order_id": "owner-1"} if "by_client_order_id" in route else None
        reply = api.request(method, path, json_body=body, headers=headers, query=query)
        got[route] = reply.status
        if reply.status in (401, 403, 404):
            assert reply.headers.get("content-type") in ("application/problem+json", None), route
    mismatches = {r: s for r, s in got.items() if s not in expected(r, who)}
    assert mismatches == {}
    owner: Trader = world["owner"]
    order = api.get(f"/v2/orders/{world['order']['id']}", headers=owner.key).body
    assert order["status"] == "accepted" and order["qty"] == "1"  # untouched by anyone else
    assert api.get(f"/v1/accounts/{owner.account_id}", headers=owner.bearer).body["status"] == "ACTIVE"


def test_unauthenticated_bodies_are_alpaca_readable(api: Api) -> None:
    reply = api.post(
        "/v2/orders", {"garbage": True}, headers={"APCA-API-KEY-ID": "PK" + "A" * 18, "APCA-API-SECRET-KEY": "x"}
    )
    assert reply.status == 401  # before validation: an anonymous caller learns nothing about the input shape
    assert reply.body["code"] == 40110000 and reply.body["message"] == "request is not authorized"
