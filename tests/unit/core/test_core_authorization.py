"""The authorizer's decision for Bearer JWTs, including the attacks issue 9 lists (each authenticates no one)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from tradeplane.auth import Principal, anonymous_response
from tradeplane.authorization import AccountAccess, Lookups, TokenPolicy, authorize, bearer_token, ip_allowed
from tradeplane.problems import Problem
from tradeplane.tokens import issue, issue_service_token
from tradeplane_tools.keys import generate_keyset

KEYS = generate_keyset("k1")
AUD = "tradeplane-api"


class NoDatabase(Lookups):
    """JWT-only decisions never look anything up; account-bound ones read these fixed answers."""

    def __init__(self, accounts: dict[str, AccountAccess] | None = None) -> None:
        super().__init__()
        self.accounts = accounts or {}

    def account(self, account_id: str) -> AccountAccess:
        return self.accounts[account_id]

    def api_key(self, key_id: str) -> None:
        return None


def decide(header: str | None, source_ip: str = "127.0.0.1", lookups: Lookups | None = None) -> Any:
    headers = {"authorization": header} if header else {}
    return authorize(headers, source_ip, keyset=KEYS, policy=TokenPolicy(AUD, 86400), lookups=lookups or NoDatabase())


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tampered() -> str:
    header, payload, signature = issue(KEYS, "user-1", AUD, scope=["trading:read"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = "trading:read trading:write accounts:write"
    return f"{header}.{_b64(claims)}.{signature}"


def _alg_none() -> str:
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": "tradeplane", "sub": "u", "aud": AUD, "iat": now, "exp": now + 60}
    return f"{_b64({'alg': 'none', 'kid': 'k1', 'typ': 'JWT'})}.{_b64(claims)}."


def _hmac_with_public_key() -> str:
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": "tradeplane", "sub": "u", "aud": AUD, "iat": now, "exp": now + 60}
    public = KEYS["keys"]["k1"]["public_pem"].encode()
    header = {"alg": "HS256", "kid": "k1", "typ": "JWT"}
    signing_input = f"{_b64(header)}.{_b64(claims)}".encode()
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(hmac.new(public, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    return f"{signing_input.decode()}.{signature.decode()}"


def _with_issuer(issuer: str) -> str:
    return issue({**KEYS, "issuer": issuer}, "u", AUD)


ATTACKS = {
    "alg none": _alg_none(),
    "HMAC signed with the public key": _hmac_with_public_key(),
    "expired": issue(KEYS, "u", AUD, ttl_s=60, now=datetime.now(UTC) - timedelta(hours=1)),
    # Far enough ahead that the token is still early when a long session reaches this test.
    "not yet valid": issue(KEYS, "u", AUD, ttl_s=3600, now=datetime.now(UTC) + timedelta(days=1)),
    "wrong aud": issue(KEYS, "u", "strategy"),
    "wrong iss": _with_issuer("someone-else"),
    "unknown kid": issue(generate_keyset("k9"), "u", AUD),
    "same kid, other key": issue(generate_keyset("k1"), "u", AUD),
    "tampered payload": _tampered(),
    "refresh token used as access": issue(KEYS, "u", AUD, extra_claims={"token_use": "refresh"}),
    "service token for another service": issue_service_token(KEYS, "executor", "strategy"),
    "opaque refresh token": "x" * 43,
    "garbage": "not.a.jwt",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attacks_authenticate_no_one(name: str) -> None:
    d = decide(f"Bearer {ATTACKS[name]}")
    assert d.allowed and d.context == {} and d.reason  # the route answers 401
    event = {"requestContext": {"authorizer": {"lambda": d.context}}}
    reply = anonymous_response(event)
    assert reply is not None and reply["statusCode"] == 401
    assert json.loads(reply["body"])["code"] == 40110000


def test_pyjwt_refuses_the_hmac_token_even_when_asked_directly() -> None:
    with pytest.raises(jwt.InvalidTokenError):
        jwt.decode(ATTACKS["HMAC signed with the public key"], KEYS["keys"]["k1"]["public_pem"], algorithms=["ES256"])


def test_user_and_service_tokens_authenticate() -> None:
    user = decide(f"Bearer {issue(KEYS, 'user-1', AUD, scope=['trading:read'], extra_claims={'token_use': 'access'})}")
    assert user.context["sub"] == "user-1" and user.context["kind"] == "user" and "account_id" not in user.context
    service = decide(f"Bearer {issue_service_token(KEYS, 'executor', AUD)}")
    assert service.context["kind"] == "service" and service.context["scope"] == "service"


def test_account_bound_token_checks_the_allowlist_and_account() -> None:
    account = "5f0b0cf5-8b5e-4f55-9d2e-8b3b8a1a0d11"
    token = issue(KEYS, "user-1", AUD, extra_claims={"account_id": account})
    lookups = NoDatabase({account: AccountAccess(True, ("10.0.0.0/8",))})
    assert not decide(f"Bearer {token}", "192.0.2.1", lookups).allowed  # outside the allowlist: 403
    inside = decide(f"Bearer {token}", "10.2.3.4", lookups)
    assert inside.allowed and inside.context["account_id"] == account
    closed = decide(f"Bearer {token}", "10.2.3.4", NoDatabase({account: AccountAccess(False, ())}))
    assert closed.allowed and closed.context == {}


def test_no_credential_is_anonymous() -> None:
    assert decide(None).context == {} and decide("Basic abc").context == {}


def test_bearer_parsing_and_ip_matching() -> None:
    assert bearer_token("Bearer abc") == "abc" and bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None and bearer_token("Bearer ") is None and bearer_token(None) is None
    assert ip_allowed("10.1.2.3", ()) and ip_allowed("10.1.2.3", ("10.0.0.0/8",))
    assert not ip_allowed("11.1.2.3", ("10.0.0.0/8",)) and not ip_allowed("garbage", ("10.0.0.0/8",))
    assert ip_allowed("2001:db8::1", ("2001:db8::/32",))


def test_lookups_cache_for_their_ttl() -> None:
    now = [0.0]
    loads: list[str] = []

    class Counting(Lookups):
        def account(self, account_id: str) -> AccountAccess:
            return self._cached("account", account_id, lambda k: loads.append(k) or AccountAccess(True, ()))  # type: ignore[func-returns-value]

    lookups = Counting(ttl_s=10, clock=lambda: now[0])
    lookups.account("a")
    lookups.account("a")
    now[0] = 10.5
    lookups.account("a")
    assert loads == ["a", "a"]


def test_principal_from_context() -> None:
    p = Principal.from_authorizer({"sub": "u", "scope": "a b", "kind": "api_key", "account_id": "acc"})
    p.require("a")
    assert p.kind == "api_key" and p.require_account() == "acc"
    with pytest.raises(Problem) as exc:
        p.require("c")
    assert exc.value.status == 403
    with pytest.raises(Problem) as exc:
        Principal.from_authorizer(None)
    assert exc.value.status == 401
    with pytest.raises(Problem) as exc:
        Principal.from_authorizer({"sub": "u"}).require_account()
    assert exc.value.status == 403


def test_a_token_living_longer_than_the_maximum_is_not_authenticated() -> None:
    now = int(datetime.now(UTC).timestamp())
    ten_years = 10 * 365 * 86400
    claims = {"iss": "tradeplane", "sub": "u", "aud": AUD, "iat": now, "exp": now + ten_years}
    token = jwt.encode(claims, KEYS["keys"]["k1"]["private_pem"], algorithm="ES256", headers={"kid": "k1"})
    refused = decide(f"Bearer {token}")
    assert refused.context == {} and "too_long_lived" in refused.reason
    lenient = authorize(
        {"authorization": f"Bearer {token}"},
        "127.0.0.1",
        keyset=KEYS,
        policy=TokenPolicy(AUD, ten_years),
        lookups=NoDatabase(),
    )
    assert lenient.context["sub"] == "u"
