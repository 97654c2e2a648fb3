"""Sign-in, refresh rotation with reuse detection, API keys, and the authorizer's view of them."""

from __future__ import annotations

import pytest
from support.core_api import Api, Trader, sign_in
from tp_core.identity import create_user
from tradeplane.problems import Problem

pytestmark = pytest.mark.integration


def test_password_grant_returns_access_and_refresh_tokens(api: Api, trader: Trader) -> None:
    grant = sign_in(api, trader.username, trader.password)
    assert grant["token_type"] == "Bearer" and grant["expires_in"] == 900
    assert "trading:write" in grant["scope"].split() and len(grant["refresh_token"]) >= 40
    me = api.get("/v1/accounts", headers={"Authorization": f"Bearer {grant['access_token']}"})
    assert me.status == 200 and [a["id"] for a in me.body] == [trader.account_id]


@pytest.mark.parametrize("password", ["wrong password!!", ""])
def test_wrong_password_is_401_and_unknown_user_too(api: Api, trader: Trader, password: str) -> None:
    for username in (trader.username, "nobody-" + trader.username):
        reply = api.post("/v1/auth/token", {"grant_type": "password", "username": username, "password": password})
        assert reply.status in (401, 422)
        if password:
            assert reply.status == 401 and reply.body["code"] == 40110000
            assert "refresh_token" not in reply.body


def test_refresh_rotates_and_reuse_revokes_the_family(api: Api, trader: Trader) -> None:
    first = sign_in(api, trader.username, trader.password)["refresh_token"]
    second = api.post("/v1/auth/token", {"grant_type": "refresh_token", "refresh_token": first})
    assert second.status == 200 and second.body["refresh_token"] != first
    third = api.post("/v1/auth/token", {"grant_type": "refresh_token", "refresh_token": second.body["refresh_token"]})
    assert third.status == 200
    # Replaying a rotated token revokes the family: the newest token stops working too.
    assert api.post("/v1/auth/token", {"grant_type": "refresh_token", "refresh_token": first}).status == 401
    latest = {"grant_type": "refresh_token", "refresh_token": third.body["refresh_token"]}
    assert api.post("/v1/auth/token", latest).status == 401
    # Another sign-in opens a new family.
    assert sign_in(api, trader.username, trader.password)["access_token"]


def test_account_bound_token_acts_on_that_account_and_survives_refresh(api: Api, trader: Trader, other: Trader) -> None:
    grant = sign_in(api, trader.username, trader.password, trader.account_id)
    refreshed = api.post("/v1/auth/token", {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]})
    for token in (grant["access_token"], refreshed.body["access_token"]):
        reply = api.get("/v2/account", headers={"Authorization": f"Bearer {token}"})
        assert reply.status == 200 and reply.body["id"] == trader.account_id
    # Binding a token to someone else's account is refused like a bad password.
    body = {"grant_type": "password", "username": trader.username, "password": trader.password}
    assert api.post("/v1/auth/token", {**body, "account_id": other.account_id}).status == 401


def test_create_user_refuses_a_duplicate(api: Api, trader: Trader) -> None:
    with pytest.raises(Problem) as info:
        create_user(trader.username, "another long password")
    assert info.value.status == 409


def test_api_keys_are_listed_without_secrets_and_revocable(api: Api, trader: Trader, other: Trader) -> None:
    listed = api.get("/v1/api-keys", headers=trader.bearer)
    assert listed.status == 200 and [k["key_id"] for k in listed.body] == [trader.key_id]
    assert "secret" not in listed.body[0] and "secret_hash" not in listed.body[0]
    assert api.get("/v2/account", headers=trader.key).status == 200
    # Another user's key is not found; the owner revokes it (twice is fine).
    assert api.delete(f"/v1/api-keys/{trader.key_id}", headers=other.bearer).status == 404
    assert api.delete(f"/v1/api-keys/{trader.key_id}", headers=trader.bearer).status == 204
    assert api.delete(f"/v1/api-keys/{trader.key_id}", headers=trader.bearer).status == 204
    listed = api.get("/v1/api-keys", headers=trader.bearer)
    assert listed.body[0]["revoked_at"] is not None


def test_key_for_another_users_account_is_404(api: Api, trader: Trader, other: Trader) -> None:
    reply = api.post("/v1/api-keys", {"account_id": other.account_id}, headers=trader.bearer)
    assert reply.status == 404


def test_api_keys_cannot_manage_keys_or_accounts(api: Api, trader: Trader) -> None:
    assert api.get("/v1/api-keys", headers=trader.key).status == 403
    assert api.post("/v1/accounts", {"starting_cash": "1"}, headers=trader.key).status == 403


def test_key_creation_retried_with_an_idempotency_key_makes_one_key(api: Api, trader: Trader) -> None:
    body = {"account_id": trader.account_id, "label": "retrying bot", "scopes": ["trading:read"]}
    headers = {**trader.bearer, "Idempotency-Key": "key-1"}
    first = api.post("/v1/api-keys", body, headers=headers)
    again = api.post("/v1/api-keys", body, headers=headers)
    assert first.status == again.status == 201
    assert again.body["key_id"] == first.body["key_id"] and again.body["scopes"] == ["trading:read"]
    # The secret exists only as a hash: shown once, and a retry says so with null.
    assert first.body["secret"] and again.body["secret"] is None
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    listed = api.get("/v1/api-keys", headers=trader.bearer).body
    assert [k["key_id"] for k in listed] == [trader.key_id, first.body["key_id"]]
    # The first answer's secret works; the same Idempotency-Key for another key is refused and makes nothing.
    key = {"APCA-API-KEY-ID": first.body["key_id"], "APCA-API-SECRET-KEY": first.body["secret"]}
    assert api.get("/v2/account", headers=key).status == 200
    assert api.post("/v1/api-keys", {**body, "label": "other"}, headers=headers).status == 422
    assert api.post("/v1/api-keys", {**body, "scopes": ["trading:write"]}, headers=headers).status == 422
    assert len(api.get("/v1/api-keys", headers=trader.bearer).body) == 2


def test_key_idempotency_is_per_user_and_checked(api: Api, trader: Trader, other: Trader) -> None:
    mine = api.post(
        "/v1/api-keys", {"account_id": trader.account_id}, headers={**trader.bearer, "Idempotency-Key": "k"}
    )
    theirs = api.post(
        "/v1/api-keys", {"account_id": other.account_id}, headers={**other.bearer, "Idempotency-Key": "k"}
    )
    assert mine.status == theirs.status == 201 and mine.body["key_id"] != theirs.body["key_id"]
    too_long = {**trader.bearer, "Idempotency-Key": "k" * 65}
    assert api.post("/v1/api-keys", {"account_id": trader.account_id}, headers=too_long).status == 422
    # Without the header every POST is a new key, as before.
    plain = [api.post("/v1/api-keys", {"account_id": trader.account_id}, headers=trader.bearer) for _ in range(2)]
    assert plain[0].body["key_id"] != plain[1].body["key_id"]
