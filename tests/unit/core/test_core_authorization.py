from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from tp_core.authorization import authorize, bearer_token
from tradeplane.auth import Principal
from tradeplane.problems import Problem
from tradeplane.tokens import issue
from tradeplane_tools.keys import generate_keyset

KEYS = generate_keyset("k1")


def test_bearer_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc" and bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None and bearer_token("Bearer ") is None and bearer_token(None) is None


def test_valid_token_allows_with_subject_and_scope_in_context() -> None:
    token = issue(KEYS, "trader-1", "tradeplane-api", scope=["market-data:write", "orders:write"])
    d = authorize(f"Bearer {token}", keyset=KEYS, audience="tradeplane-api", max_lifetime_s=86400)
    assert d.allowed and d.context["sub"] == "trader-1" and d.context["scope"] == "market-data:write orders:write"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no bearer token"),
        ("Bearer not-a-jwt", "malformed"),
        (f"Bearer {issue(KEYS, 's', 'core')}", "wrong_audience"),
        (f"Bearer {issue(generate_keyset('other'), 's', 'tradeplane-api')}", "unknown_kid"),
        (
            f"Bearer {issue(KEYS, 's', 'tradeplane-api', ttl_s=60, now=datetime.now(UTC) - timedelta(hours=1))}",
            "expired",
        ),
    ],
)
def test_bad_tokens_are_denied_with_a_reason(header: str | None, reason: str) -> None:
    d = authorize(header, keyset=KEYS, audience="tradeplane-api", max_lifetime_s=86400)
    assert not d.allowed and reason in d.reason and d.context == {}


def test_principal_requires_scope() -> None:
    p = Principal.from_authorizer({"sub": "u", "scope": "a b"})
    p.require("a")
    with pytest.raises(Problem) as exc:
        p.require("c")
    assert exc.value.status == 403
    assert Principal.from_authorizer(None).scopes == frozenset()


def test_a_token_living_longer_than_the_maximum_is_refused() -> None:
    ten_years = 10 * 365 * 86400
    # Signed with a good key, but a ten-year lifetime: issue() refuses to mint it, so sign it by hand.
    import jwt

    entry = KEYS["keys"]["k1"]
    now = int(time.time())
    claims = {"iss": KEYS["issuer"], "sub": "s", "aud": "tradeplane-api", "iat": now, "exp": now + ten_years}
    token = jwt.encode(claims, entry["private_pem"], algorithm="ES256", headers={"kid": "k1"})
    d = authorize(f"Bearer {token}", keyset=KEYS, audience="tradeplane-api", max_lifetime_s=86400)
    assert not d.allowed and "too_long_lived" in d.reason
    ok = authorize(f"Bearer {token}", keyset=KEYS, audience="tradeplane-api", max_lifetime_s=ten_years)
    assert ok.allowed
