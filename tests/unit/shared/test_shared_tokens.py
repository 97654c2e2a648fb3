"""JWT issue/verify and every rejection reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from tradeplane import tokens
from tradeplane.tokens import TokenError, issue, verify
from tradeplane_tools import keys
from tradeplane_tools.keys import generate_keyset


@pytest.fixture(scope="module")
def keyset() -> dict[str, Any]:
    return generate_keyset("k1")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def reason(keyset: dict[str, Any], token: str, audience: str = "core") -> str:
    with pytest.raises(TokenError) as info:
        verify(keyset, token, audience)
    return info.value.reason


def test_generate_keyset_shape(keyset: dict[str, Any]) -> None:
    assert keyset["active_kid"] == "k1" and keyset["issuer"] == "tradeplane"
    key = keyset["keys"]["k1"]
    assert key["alg"] == "ES256"
    assert key["private_pem"].startswith("-----BEGIN PRIVATE KEY-----")
    assert key["public_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    json.dumps(keyset)  # storable as a secret string


def test_issue_and_verify(keyset: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    token = issue(keyset, "user-1", "core", ttl_s=600, scope=["orders:read", "orders:write"],
                  extra_claims={"account_id": "acct-1"}, now=now)  # fmt: skip
    header = jwt.get_unverified_header(token)
    assert header["kid"] == "k1" and header["alg"] == "ES256"
    claims = verify(keyset, token, "core")
    assert claims.sub == "user-1" and claims.aud == "core" and claims.iss == "tradeplane"
    assert claims.exp - claims.iat == 600 and claims.nbf == claims.iat
    assert claims.scope == ("orders:read", "orders:write") and claims.has_scope("orders:write")
    assert claims.extra() == {"account_id": "acct-1"}
    assert claims.jti and len(claims.jti) == 32


def test_each_token_has_a_unique_jti(keyset: dict[str, Any]) -> None:
    a, b = issue(keyset, "u", "core"), issue(keyset, "u", "core")
    assert verify(keyset, a, "core").jti != verify(keyset, b, "core").jti


def test_service_token_audience(keyset: dict[str, Any]) -> None:
    token = tokens.issue_service_token(keyset, "strategy_runner", "core")
    claims = verify(keyset, token, "core")
    assert claims.sub == "svc:strategy_runner" and claims.has_scope("service")
    assert claims.exp - claims.iat == 300
    assert reason(keyset, token, "strategy") == "wrong_audience"  # services reject tokens meant for others


def test_service_token_acting_for_one_account(keyset: dict[str, Any]) -> None:
    plain = verify(keyset, tokens.issue_service_token(keyset, "strategy_runner", "core"), "core")
    assert "account_id" not in plain.extra() and plain.scope == ("service",)
    token = tokens.issue_service_token(
        keyset, "strategy_runner", "core", account_id="acc-1", scope=("trading:read", "service", "trading:write")
    )
    claims = verify(keyset, token, "core")
    assert claims.extra()["account_id"] == "acc-1"
    assert claims.scope == ("service", "trading:read", "trading:write")  # "service" always, once


def test_expired(keyset: dict[str, Any]) -> None:
    token = issue(keyset, "u", "core", ttl_s=60, now=datetime.now(UTC) - timedelta(hours=1))
    assert reason(keyset, token) == "expired"


def test_small_leeway_accepts_just_expired(keyset: dict[str, Any]) -> None:
    token = issue(keyset, "u", "core", ttl_s=60, now=datetime.now(UTC) - timedelta(seconds=70))
    assert verify(keyset, token, "core").sub == "u"


def test_not_yet_valid(keyset: dict[str, Any]) -> None:
    token = issue(keyset, "u", "core", now=datetime.now(UTC) + timedelta(hours=1))
    assert reason(keyset, token) in {"not_yet_valid", "invalid"}


def test_wrong_audience(keyset: dict[str, Any]) -> None:
    assert reason(keyset, issue(keyset, "u", "strategy")) == "wrong_audience"


def test_wrong_issuer(keyset: dict[str, Any]) -> None:
    other = {**keyset, "issuer": "someone-else"}
    assert reason(keyset, issue(other, "u", "core")) == "wrong_issuer"


def test_unknown_kid(keyset: dict[str, Any]) -> None:
    stranger = generate_keyset("k9")
    assert reason(keyset, issue(stranger, "u", "core")) == "unknown_kid"


def test_missing_kid(keyset: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(keyset["keys"]["k1"]["private_pem"].encode(), None)
    now = int(datetime.now(UTC).timestamp())
    token = jwt.encode({"sub": "u", "aud": "core", "iss": "tradeplane", "iat": now, "exp": now + 60}, key,  # type: ignore[arg-type]
                       algorithm="ES256")  # fmt: skip
    assert reason(keyset, token) == "unknown_kid"


def test_bad_signature_from_another_key_with_same_kid(keyset: dict[str, Any]) -> None:
    impostor = generate_keyset("k1")  # same kid, different key
    assert reason(keyset, issue(impostor, "u", "core")) == "bad_signature"


def test_tampered_payload(keyset: dict[str, Any]) -> None:
    header, _payload, sig = issue(keyset, "u", "core").split(".")
    now = int(datetime.now(UTC).timestamp())
    forged = b64(json.dumps({"sub": "admin", "aud": "core", "iss": "tradeplane", "iat": now, "exp": now + 60}).encode())
    assert reason(keyset, f"{header}.{forged}.{sig}") == "bad_signature"


def test_alg_confusion_hs256_signed_with_public_key(keyset: dict[str, Any]) -> None:
    public_pem = keyset["keys"]["k1"]["public_pem"].encode()
    now = int(datetime.now(UTC).timestamp())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    claims = {"sub": "admin", "aud": "core", "iss": "tradeplane", "iat": now, "exp": now + 600}
    payload = b64(json.dumps(claims).encode())
    sig = b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert reason(keyset, f"{header}.{payload}.{sig}") == "bad_algorithm"


def test_alg_none_rejected(keyset: dict[str, Any]) -> None:
    now = int(datetime.now(UTC).timestamp())
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "k1"}).encode())
    claims = {"sub": "admin", "aud": "core", "iss": "tradeplane", "iat": now, "exp": now + 600}
    payload = b64(json.dumps(claims).encode())
    assert reason(keyset, f"{header}.{payload}.") == "bad_algorithm"


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c", "....", "eyJhbGciOiJFUzI1NiJ9.e30.xx"])
def test_malformed(keyset: dict[str, Any], token: str) -> None:
    assert reason(keyset, token) in {"malformed", "unknown_kid"}
    if token.count(".") != 2 or token == "a.b.c":
        assert reason(keyset, token) == "malformed"


def test_missing_required_claim(keyset: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(keyset["keys"]["k1"]["private_pem"].encode(), None)
    now = int(datetime.now(UTC).timestamp())
    claims = {"aud": "core", "iss": "tradeplane", "iat": now, "exp": now + 60}  # no sub
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k1"})  # type: ignore[arg-type]
    assert reason(keyset, token) == "missing_claim"


def test_rotation_keeps_old_tokens_valid(keyset: dict[str, Any]) -> None:
    old = issue(keyset, "u", "core")
    rotated = keys.rotate_keyset(keyset, "k2")
    assert rotated["active_kid"] == "k2" and set(rotated["keys"]) == {"k1", "k2"}
    assert verify(rotated, old, "core").sub == "u"
    assert jwt.get_unverified_header(issue(rotated, "u", "core"))["kid"] == "k2"
    assert set(keys.rotate_keyset(rotated, "k3")["keys"]) == {"k2", "k3"}


def test_verify_only_keyset_cannot_issue(keyset: dict[str, Any]) -> None:
    public_only = {**keyset, "keys": {"k1": {"alg": "ES256", "public_pem": keyset["keys"]["k1"]["public_pem"]}}}
    assert verify(public_only, issue(keyset, "u", "core"), "core").sub == "u"
    with pytest.raises(ValueError, match="only verify"):
        issue(public_only, "u", "core")


def test_symmetric_keysets_refused() -> None:
    with pytest.raises(ValueError, match="not allowed"):
        verify({"active_kid": "h", "keys": {"h": {"alg": "HS256", "public_pem": "secret"}}}, "a.b.c", "core")


def test_issue_argument_checks(keyset: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="registered"):
        issue(keyset, "u", "core", extra_claims={"aud": "everyone"})
    with pytest.raises(ValueError, match="ttl_s"):
        issue(keyset, "u", "core", ttl_s=0)
    with pytest.raises(ValueError, match="subject"):
        issue(keyset, "", "core")


def test_token_error_message_is_the_reason() -> None:
    assert str(TokenError("expired")) == "expired"
