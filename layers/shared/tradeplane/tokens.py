"""JWTs for users and services: issue and verify against a rotating keyset.

The keyset lives in a Secrets Manager secret (JSON):

    {"active_kid": "k1", "issuer": "tradeplane",
     "keys": {"k1": {"alg": "ES256", "private_pem": "...", "public_pem": "..."}}}

Tokens carry `kid` in the header. Verification looks the key up by `kid` and
pins the algorithm to the one the keyset records for that key (never the one
the token claims), and requires exp, iat, iss, aud and sub. Service-to-service
tokens use the same functions with `audience` = the target service ("core").
Verifier-only secrets may omit `private_pem`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "ALLOWED_ALGORITHMS",
    "Claims",
    "Keyset",
    "TokenError",
    "TokenErrorReason",
    "issue",
    "issue_service_token",
    "load_keyset",
    "verify",
]

# Asymmetric only: a verifier never holds a secret that can also sign.
ALLOWED_ALGORITHMS = frozenset({"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "EdDSA"})
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
REGISTERED_CLAIMS = frozenset({"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "scope"})
LEEWAY_S = 30
MAX_TTL_S = 24 * 3600

TokenErrorReason = Literal[
    "malformed",
    "unknown_kid",
    "bad_algorithm",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "wrong_audience",
    "wrong_issuer",
    "missing_claim",
    "too_long_lived",
    "invalid",
]


class TokenError(Exception):
    """The token was rejected; `reason` says why (safe to log, not meant for clients verbatim)."""

    def __init__(self, reason: TokenErrorReason, detail: str = "") -> None:
        self.reason: TokenErrorReason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class KeyEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    alg: str
    public_pem: str
    private_pem: str | None = None

    @field_validator("alg")
    @classmethod
    def _asymmetric(cls, value: str) -> str:
        if value not in ALLOWED_ALGORITHMS:
            raise ValueError(f"algorithm {value!r} not allowed; use one of {sorted(ALLOWED_ALGORITHMS)}")
        return value


class Keyset(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    active_kid: str
    issuer: str = "tradeplane"
    keys: dict[str, KeyEntry] = Field(min_length=1)

    @classmethod
    def parse(cls, keyset: Mapping[str, Any] | Keyset) -> Keyset:
        if isinstance(keyset, Keyset):
            return keyset
        try:
            parsed = cls.model_validate(dict(keyset))
        except ValidationError as exc:
            raise ValueError(f"invalid JWT keyset: {exc.errors(include_input=False)}") from None
        if parsed.active_kid not in parsed.keys:
            raise ValueError(f"invalid JWT keyset: active_kid {parsed.active_kid!r} is not in keys")
        return parsed


class Claims(BaseModel):
    """Verified claims. Custom claims passed as `extra_claims` are kept (see `model_extra`)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    iss: str
    sub: str
    aud: str | list[str]
    iat: int
    exp: int
    nbf: int | None = None
    jti: str | None = None
    scope: tuple[str, ...] = ()

    @field_validator("scope", mode="before")
    @classmethod
    def _split_scope(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            return tuple(value.split())
        return value

    def has_scope(self, scope: str) -> bool:
        return scope in self.scope

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.exp, UTC)

    def extra(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


# --------------------------------------------------------------------------- keys


def load_keyset(secret_id: str, max_age: int = 300, *, force_fetch: bool = False) -> dict[str, Any]:
    """Fetch the keyset secret (JSON), cached in the container for `max_age` seconds.

    A verifier that meets an unknown `kid` may call once with `force_fetch=True`
    to pick up a just-rotated key before rejecting the token.
    """
    from aws_lambda_powertools.utilities.parameters import get_secret

    value = get_secret(secret_id, transform="json", max_age=max_age, force_fetch=force_fetch)
    if not isinstance(value, dict):
        raise ValueError(f"secret {secret_id} does not hold a JSON object keyset")
    Keyset.parse(value)  # fail fast on a malformed secret
    return value


@lru_cache(maxsize=32)
def _private_key(pem: str) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem.encode(), password=None)


@lru_cache(maxsize=32)
def _public_key(pem: str) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_public_key(pem.encode())


# --------------------------------------------------------------------------- issue / verify


def issue(
    keyset: Mapping[str, Any],
    subject: str,
    audience: str,
    *,
    ttl_s: int = 900,
    scope: Iterable[str] = (),
    extra_claims: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> str:
    """Sign a token with the active key: iss/sub/aud/iat/nbf/exp/jti/scope (+ extra_claims)."""
    ks = Keyset.parse(keyset)
    entry = ks.keys[ks.active_kid]
    if entry.private_pem is None:
        raise ValueError(f"keyset key {ks.active_kid!r} has no private_pem; it can only verify")
    if not subject:
        raise ValueError("subject must not be empty")
    if not 1 <= ttl_s <= MAX_TTL_S:
        raise ValueError(f"ttl_s must be between 1 and {MAX_TTL_S}")
    extra = dict(extra_claims or {})
    clash = REGISTERED_CLAIMS & extra.keys()
    if clash:
        raise ValueError(f"extra_claims may not override registered claims: {sorted(clash)}")
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    iat = int(now.timestamp())
    claims: dict[str, Any] = {
        **extra,
        "iss": ks.issuer,
        "sub": subject,
        "aud": audience,
        "iat": iat,
        "nbf": iat,
        "exp": iat + ttl_s,
        "jti": uuid.uuid4().hex,
        "scope": " ".join(scope),
    }
    return jwt.encode(
        claims, _private_key(entry.private_pem), algorithm=entry.alg, headers={"kid": ks.active_kid, "typ": "JWT"}
    )


def issue_service_token(
    keyset: Mapping[str, Any],
    caller: str,
    audience: str,
    *,
    ttl_s: int = 300,
    account_id: str | None = None,
    scope: Iterable[str] = (),
) -> str:
    """A short-lived token for function `caller` to call service `audience` (subject "svc:<caller>").

    With `account_id` (and the `scope` it needs, e.g. "trading:read trading:write") the token acts on that
    one account's /v2 routes, as an account-bound user token does: the strategy runner trades for the
    account that owns a strategy. Scope "service" is always present, so a service never passes for a user.
    """
    extra = {"account_id": account_id} if account_id else None
    scopes = ("service", *(s for s in scope if s != "service"))
    return issue(keyset, f"svc:{caller}", audience, ttl_s=ttl_s, scope=scopes, extra_claims=extra)


# PyJWT's errors -> our reasons; order matters (subclasses first).
_DECODE_ERRORS: tuple[tuple[type[Exception], TokenErrorReason], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidAudienceError, "wrong_audience"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidAlgorithmError, "bad_algorithm"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.DecodeError, "malformed"),
    (jwt.InvalidTokenError, "invalid"),
)
# Details that come from the token itself are never repeated; these reasons keep PyJWT's own words.
_SAFE_DETAIL = frozenset({"missing_claim", "bad_algorithm"})


def _key_entry(ks: Keyset, token: str) -> KeyEntry:
    """The keyset entry named by the token's `kid`, with the algorithm pinned to the entry's."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise TokenError("malformed", "not a compact JWS")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise TokenError("malformed", str(exc)) from None
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenError("unknown_kid", "token header has no kid")
    entry = ks.keys.get(kid)
    if entry is None:
        raise TokenError("unknown_kid", f"kid {kid[:40]!r} is not in the keyset")
    if header.get("alg") != entry.alg:
        raise TokenError("bad_algorithm", f"token alg {str(header.get('alg'))[:20]!r} is not {entry.alg}")
    return entry


def _decode(ks: Keyset, entry: KeyEntry, token: str, audience: str) -> dict[str, Any]:
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            _public_key(entry.public_pem),
            algorithms=[entry.alg],
            audience=audience,
            issuer=ks.issuer,
            leeway=LEEWAY_S,
            options={"require": REQUIRED_CLAIMS, "verify_signature": True, "strict_aud": False},
        )
    except jwt.InvalidTokenError as exc:
        reason = next(r for kind, r in _DECODE_ERRORS if isinstance(exc, kind))
        detail = str(getattr(exc, "claim", exc)) if reason in _SAFE_DETAIL else ""
        if reason == "wrong_audience":
            detail = f"token is not for {audience!r}"
        raise TokenError(reason, detail) from None
    return payload


def verify(keyset: Mapping[str, Any], token: str, audience: str, *, max_lifetime_s: int = MAX_TTL_S) -> Claims:
    """Verify `token` for `audience`; raise TokenError(reason) on any problem.

    A token whose lifetime (`exp - iat`) exceeds `max_lifetime_s` is refused even when
    its signature is good: a leaked long-lived token would otherwise outlive any rotation.
    """
    ks = Keyset.parse(keyset)
    payload = _decode(ks, _key_entry(ks, token), token, audience)
    try:
        claims = Claims.model_validate(payload)
    except ValidationError as exc:
        raise TokenError("invalid", f"unexpected claim types: {exc.errors(include_input=False)}") from None
    if claims.exp - claims.iat > max_lifetime_s:
        raise TokenError("too_long_lived", f"lifetime exceeds {max_lifetime_s} s")
    return claims
