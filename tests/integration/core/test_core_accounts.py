"""Accounts on /v1: ownership (another user's account is 404), cash movements, risk, allowlist, kill switch."""

from __future__ import annotations

import uuid

import pytest
from support.core_api import Api, Trader

pytestmark = pytest.mark.integration


def test_create_list_get(api: Api, trader: Trader) -> None:
    got = api.get(f"/v1/accounts/{trader.account_id}", headers=trader.bearer)
    assert got.status == 200
    body = got.body
    assert body["status"] == "ACTIVE" and body["currency"] == "USD" and body["account_number"].startswith("PA")
    assert body["cash"] == "100000.00" and body["buying_power"] == "100000.00"
    second = api.post("/v1/accounts", {"starting_cash": 2500}, headers=trader.bearer)
    assert second.status == 201 and second.body["cash"] == "2500.00"
    listed = api.get("/v1/accounts", headers=trader.bearer)
    assert [a["id"] for a in listed.body] == [trader.account_id, second.body["id"]]


@pytest.mark.parametrize(
    "suffix",
    ["", "/risk-settings", "/ip-allowlist"],
)
def test_another_users_account_is_404(api: Api, trader: Trader, other: Trader, suffix: str) -> None:
    assert api.get(f"/v1/accounts/{other.account_id}{suffix}", headers=trader.bearer).status == 404
    assert api.get(f"/v1/accounts/{uuid.uuid4()}{suffix}", headers=trader.bearer).status == 404


def test_writes_to_another_users_account_are_404_and_change_nothing(api: Api, trader: Trader, other: Trader) -> None:
    base = f"/v1/accounts/{other.account_id}"
    move = {"type": "withdrawal", "amount": "10", "idempotency_key": "x"}
    assert api.post(f"{base}/cash-movements", move, headers=trader.bearer).status == 404
    assert api.put(f"{base}/kill-switch", {"trading_blocked": True}, headers=trader.bearer).status == 404
    assert api.put(f"{base}/ip-allowlist", {"cidrs": ["10.0.0.0/8"]}, headers=trader.bearer).status == 404
    assert api.post(f"{base}/close", headers=trader.bearer).status == 404
    mine = api.get(base, headers=other.bearer).body
    assert mine["status"] == "ACTIVE" and mine["cash"] == "100000.00"


@pytest.mark.parametrize(
    "body",
    [
        {"currency": "usd"},
        {"starting_cash": "-1"},
        {"starting_cash": "1e400"},
        {"starting_cash": "12.345"},
        {"starting_cash": "NaN"},
        {"unexpected": 1},
    ],
)
def test_bad_account_input_is_422(api: Api, trader: Trader, body: dict[str, object]) -> None:
    reply = api.post("/v1/accounts", body, headers=trader.bearer)
    assert reply.status == 422 and reply.headers["content-type"] == "application/problem+json"
    assert len(api.get("/v1/accounts", headers=trader.bearer).body) == 1


def test_cash_movements_are_idempotent_and_withdrawals_bounded(api: Api, trader: Trader) -> None:
    url = f"/v1/accounts/{trader.account_id}/cash-movements"
    deposit = {"type": "deposit", "amount": "250.50", "idempotency_key": "dep-1"}
    first = api.post(url, deposit, headers=trader.bearer)
    again = api.post(url, deposit, headers=trader.bearer)
    assert first.status == again.status == 201 and first.body["id"] == again.body["id"]
    assert api.post(url, {**deposit, "amount": "1"}, headers=trader.bearer).status == 422  # same key, other body
    too_much = {"type": "withdrawal", "amount": "100250.51", "idempotency_key": "wd-1"}
    assert api.post(url, too_much, headers=trader.bearer).status == 422
    ok = api.post(url, {**too_much, "amount": "100250.50"}, headers=trader.bearer)
    assert ok.status == 201 and ok.body["amount"] == "-100250.50"
    assert api.get(f"/v1/accounts/{trader.account_id}", headers=trader.bearer).body["cash"] == "0.00"


def test_risk_settings_round_trip(api: Api, trader: Trader) -> None:
    url = f"/v1/accounts/{trader.account_id}/risk-settings"
    settings = {
        "shorting_enabled": True,
        "max_order_notional": "5000",
        "max_position_qty": 100,
        "price_band_pct": "5",
        "max_orders_per_minute": 30,
        "tradable_symbols": ["AAPL", "MSFT"],
    }
    put = api.put(url, settings, headers=trader.bearer)
    assert put.status == 200
    got = api.get(url, headers=trader.bearer).body
    assert got["max_order_notional"] == "5000.00" and got["tradable_symbols"] == ["AAPL", "MSFT"]
    assert got["shorting_enabled"] is True and got["trading_blocked"] is False
    assert api.put(url, {**settings, "price_band_pct": 0}, headers=trader.bearer).status == 422


def test_allowlist_is_enforced_by_the_authorizer(api: Api, trader: Trader) -> None:
    url = f"/v1/accounts/{trader.account_id}/ip-allowlist"
    put = api.put(url, {"cidrs": ["10.1.0.0/16", "2001:db8::/32"]}, headers=trader.bearer)
    assert put.status == 200 and put.body["cidrs"] == ["10.1.0.0/16", "2001:db8::/32"]
    assert api.put(url, {"cidrs": ["not-a-network"]}, headers=trader.bearer).status == 422
    from support.core_api import authorizer_lookups

    authorizer_lookups().clear()  # the authorizer caches lookups for its TTL (10 s); don't wait here
    assert api.get("/v2/account", headers=trader.key).status == 403  # 127.0.0.1 is not allowed
    api.source_ip = "10.1.2.3"
    try:
        assert api.get("/v2/account", headers=trader.key).status == 200
    finally:
        api.source_ip = "127.0.0.1"
    assert api.put(url, {"cidrs": []}, headers=trader.bearer).body["cidrs"] == []


def test_close_refuses_then_closes_and_keys_stop_working(api: Api, trader: Trader) -> None:
    closed = api.post(f"/v1/accounts/{trader.account_id}/close", headers=trader.bearer)
    assert closed.status == 200 and closed.body["status"] == "CLOSED"
    from support.core_api import authorizer_lookups

    authorizer_lookups().clear()
    assert api.get("/v2/account", headers=trader.key).status == 401
    move = {"type": "deposit", "amount": "1", "idempotency_key": "late"}
    assert api.post(f"/v1/accounts/{trader.account_id}/cash-movements", move, headers=trader.bearer).status == 422


def test_create_with_an_idempotency_key_is_applied_once(api: Api, trader: Trader) -> None:
    headers = {**trader.bearer, "Idempotency-Key": "open-1"}
    first = api.post("/v1/accounts", {"starting_cash": "500"}, headers=headers)
    again = api.post("/v1/accounts", {"starting_cash": 500}, headers=headers)
    assert first.status == again.status == 201 and first.body["id"] == again.body["id"]
    assert again.body["cash"] == "500.00"
    assert api.post("/v1/accounts", {"starting_cash": "501"}, headers=headers).status == 422
    assert api.post("/v1/accounts", {}, headers={**trader.bearer, "Idempotency-Key": "k" * 65}).status == 422
    assert len(api.get("/v1/accounts", headers=trader.bearer).body) == 2
