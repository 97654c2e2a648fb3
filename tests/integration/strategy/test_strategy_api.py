"""The strategy API through the authorizer and each route's own function: CRUD, authz, 422s, idempotency."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from support.core_api import Api, Trader

pytestmark = pytest.mark.integration

SMA = {"type": "ma_crossover", "params": {"fast": 5, "slow": 20}}


def body(name: str = "trend", **over: Any) -> dict[str, Any]:
    return {
        "name": name,
        **SMA,
        "symbols": ["AAPL", "MSFT"],
        "timeframe": "1m",
        "sizing": {"kind": "fixed_qty", "qty": "10"},
        **over,
    }


def create(api: Api, trader: Trader, **over: Any) -> dict[str, Any]:
    reply = api.post("/v1/strategies", body(**over), headers=trader.key)
    assert reply.status == 201, reply.body
    return dict(reply.body)


def test_create_get_list_and_replay(api: Api, trader: Trader) -> None:
    made = create(api, trader)
    assert made["account_id"] == trader.account_id
    assert made["params"]["fast"] == 5 and made["version"] == 1 and made["enabled"] is False
    got = api.get(f"/v1/strategies/{made['id']}", headers=trader.key)
    assert got.status == 200 and got.body == made
    listed = api.get("/v1/strategies", headers=trader.key)
    assert [s["id"] for s in listed.body["strategies"]] == [made["id"]]
    assert listed.headers["x-ratelimit-limit"]  # the platform's bucket is in front of the route
    again = api.post("/v1/strategies", body(), headers=trader.key)
    assert again.status == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.body["id"] == made["id"]
    clash = api.post("/v1/strategies", body(params={"fast": 3, "slow": 20}), headers=trader.key)
    assert clash.status == 409 and clash.headers["content-type"] == "application/problem+json"


def test_a_user_token_names_one_of_its_accounts(api: Api, trader: Trader, other: Trader) -> None:
    made = api.post("/v1/strategies", body(account_id=trader.account_id), headers=trader.bearer)
    assert made.status == 201, made.body
    unbound = api.post("/v1/strategies", body(name="x"), headers=trader.bearer)
    assert unbound.status == 403
    foreign = api.post("/v1/strategies", body(name="y", account_id=other.account_id), headers=trader.bearer)
    assert foreign.status == 404


@pytest.mark.parametrize(
    ("over", "loc"),
    [
        ({"params": {"fast": 30, "slow": "x"}}, "body.params.slow"),
        ({"params": {"fast": 5, "slow": 20, "bogus": 1}}, "body.params.bogus"),
        ({"type": "no_such_type"}, "body.type"),
        ({"type": "os:system"}, "body.type"),
        ({"sizing": {"kind": "fixed_qty"}}, "body.sizing"),
        ({"symbols": []}, "body.symbols"),
        ({"symbols": ["aapl"]}, "body.symbols.0"),
    ],
)
def test_bad_definitions_are_422_naming_the_field(api: Api, trader: Trader, over: dict[str, Any], loc: str) -> None:
    reply = api.post("/v1/strategies", body(name="bad-" + uuid.uuid4().hex[:6], **over), headers=trader.key)
    assert reply.status == 422, reply.body
    assert reply.headers["content-type"] == "application/problem+json"
    assert any(e["loc"].startswith(loc) for e in reply.body["errors"]), reply.body
    assert api.get("/v1/strategies", headers=trader.key).body["strategies"] == []


def test_another_accounts_strategy_is_404(api: Api, trader: Trader, other: Trader) -> None:
    made = create(api, trader)
    path = f"/v1/strategies/{made['id']}"
    for method, suffix, payload in [
        ("GET", "", None),
        ("PATCH", "", {"name": "mine"}),
        ("DELETE", "", None),
        ("POST", "/enable", None),
        ("GET", "/signals", None),
        ("GET", "/orders", None),
        ("GET", "/fills", None),
        ("GET", "/pnl", None),
    ]:
        reply = api.request(method, path + suffix, json_body=payload, headers=other.key)
        assert reply.status == 404, (method, suffix, reply.body)
    assert api.get("/v1/strategies", headers=other.key).body["strategies"] == []
    assert api.get(path, headers=trader.key).body == made  # nothing changed


def test_update_enable_disable_delete(api: Api, trader: Trader) -> None:
    made = create(api, trader)
    path = f"/v1/strategies/{made['id']}"
    updated = api.patch(path, {"params": {"fast": 8, "slow": 21}, "expected_version": 1}, headers=trader.key)
    assert updated.status == 200, updated.body
    assert updated.body["params"]["fast"] == 8 and updated.body["version"] == 2
    stale = api.patch(path, {"symbols": ["IBM"], "expected_version": 1}, headers=trader.key)
    assert stale.status == 409 and stale.body["version"] == 2
    bad = api.patch(path, {"params": {"fast": 8, "slow": -1}}, headers=trader.key)
    assert bad.status == 422 and bad.body["errors"][0]["loc"].startswith("body.params.slow")
    enabled = api.post(f"{path}/enable", headers=trader.key)
    assert enabled.status == 200 and enabled.body["enabled"] is True and enabled.body["version"] == 3
    assert api.post(f"{path}/enable", headers=trader.key).body["version"] == 3  # a repeat changes nothing
    assert api.post(f"{path}/disable", headers=trader.key).body["enabled"] is False
    assert api.delete(path, headers=trader.key).status == 204
    assert api.get(path, headers=trader.key).status == 404
    assert api.delete(path, headers=trader.key).status == 204  # a retried delete
    assert api.get(f"{path}/signals", headers=trader.key).status == 200  # its history stays readable
    assert create(api, trader)["id"] != made["id"]  # the name is free again


def test_anonymous_caller_is_401_before_validation(api: Api) -> None:
    reply = api.post("/v1/strategies", {"nonsense": True}, headers={"Authorization": "Bearer nope"})
    assert reply.status == 401 and reply.body["status"] == 401


def test_read_only_key_cannot_write(api: Api, trader: Trader) -> None:
    key = api.post(
        "/v1/api-keys",
        {"account_id": trader.account_id, "label": "ro", "scopes": ["trading:read"]},
        headers=trader.bearer,
    )
    assert key.status == 201, key.body
    headers = {"APCA-API-KEY-ID": key.body["key_id"], "APCA-API-SECRET-KEY": key.body["secret"]}
    assert api.post("/v1/strategies", body(), headers=headers).status == 403
    assert api.get("/v1/strategies", headers=headers).status == 200
