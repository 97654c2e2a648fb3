"""Authenticating a credential: who is calling, with which scopes, for which account.

The HTTP API's Lambda authorizer (core) and the WebSocket `authenticate` action
(streaming) both decide with this module, so a key or token means the same on both.

Credentials, in this order: Alpaca's `APCA-API-KEY-ID` + `APCA-API-SECRET-KEY`
headers (programs), then `Authorization: Bearer <JWT>` (users and services).
A request without a valid credential is still passed on, with an empty context:
the route answers 401 with a readable body (`tradeplane.auth.Principal`), which a
simple-response authorizer cannot. A valid credential from an address outside
the account's IP allowlist is denied here (403 at the gateway).

API keys and allowlists are read from Postgres and kept in the container for
`LOOKUP_TTL_S`; with the gateway's result cache off, that is how long a revoked
key or a changed allowlist can still be honoured.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tradeplane.tokens import Claims, TokenError, verify

LOOKUP_TTL_S = 10.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    context: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class ApiKey:
    secret_hash: bytes
    user_id: str
    account_id: str
    scopes: tuple[str, ...]
    usable: bool  # not revoked, account active


@dataclass(frozen=True)
class AccountAccess:
    active: bool
    cidrs: tuple[str, ...]  # empty: any address


class Lookups:
    """API keys and account access from Postgres, cached per container for `ttl_s`."""

    def __init__(self, ttl_s: float = LOOKUP_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.clock = ttl_s, clock
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}

    def _cached(self, kind: str, key: str, load: Callable[[str], Any]) -> Any:
        hit = self._cache.get((kind, key))
        if hit and hit[0] > self.clock():
            return hit[1]
        value = load(key)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[(kind, key)] = (self.clock() + self.ttl_s, value)
        return value

    def api_key(self, key_id: str) -> ApiKey | None:
        return self._cached("key", key_id, _load_api_key)  # type: ignore[no-any-return]

    def account(self, account_id: str) -> AccountAccess:
        return self._cached("account", account_id, _load_account)  # type: ignore[no-any-return]


def _load_api_key(key_id: str) -> ApiKey | None:
    from tradeplane import db

    with db.connection() as conn:  # the primary: a new key is used the moment it is shown
        row = conn.execute(
            """select k.secret_hash, k.user_id, k.account_id, k.scopes,
                      k.revoked_at is null and a.status = 'ACTIVE' as usable
               from core.api_keys k join core.accounts a on a.id = k.account_id where k.key_id = %s""",
            (key_id,),
        ).fetchone()
    if row is None:
        return None
    return ApiKey(
        bytes(row["secret_hash"]), str(row["user_id"]), str(row["account_id"]), tuple(row["scopes"]), row["usable"]
    )


def _load_account(account_id: str) -> AccountAccess:
    from tradeplane import db

    with db.connection() as conn:
        row = conn.execute(
            """select a.status = 'ACTIVE' as active,
                      coalesce(array_agg(l.cidr::text) filter (where l.cidr is not null), '{}') as cidrs
               from core.accounts a left join core.ip_allowlist l on l.account_id = a.id
               where a.id = %s group by a.id""",
            (account_id,),
        ).fetchone()
    return AccountAccess(bool(row and row["active"]), tuple(row["cidrs"]) if row else ())


def secret_matches(secret: str, stored_hash: bytes) -> bool:
    """An API key secret against its stored SHA-256 (256-bit random secrets need no slow hash)."""
    return hmac.compare_digest(hashlib.sha256(secret.encode()).digest(), stored_hash)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def ip_allowed(source_ip: str, cidrs: tuple[str, ...]) -> bool:
    if not cidrs:
        return True
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(c) for c in cidrs)


def _for_account(context: dict[str, Any], account_id: str | None, source_ip: str, lookups: Lookups) -> Decision:
    if account_id is None:
        return Decision(True, context)
    access = lookups.account(account_id)
    if not access.active:
        return Decision(True, reason="account closed")
    if not ip_allowed(source_ip, access.cidrs):
        return Decision(False, reason="source address not in the account's allowlist")
    return Decision(True, context)


def _api_key(key_id: str, secret: str | None, source_ip: str, lookups: Lookups) -> Decision:
    key = lookups.api_key(key_id[:64])
    if key is None or not secret or not secret_matches(secret, key.secret_hash):
        return Decision(True, reason="unknown API key or wrong secret")
    if not key.usable:
        return Decision(True, reason="API key revoked or account closed")
    context = {
        "sub": key.user_id,
        "scope": " ".join(key.scopes),
        "kind": "api_key",
        "account_id": key.account_id,
        "key_id": key_id,
    }
    return _for_account(context, key.account_id, source_ip, lookups)


@dataclass(frozen=True)
class TokenPolicy:
    """What a bearer token must satisfy beyond its signature: our audience and a bounded lifetime."""

    audience: str
    max_lifetime_s: int


def _bearer(token: str, source_ip: str, keyset: Mapping[str, Any], policy: TokenPolicy, lookups: Lookups) -> Decision:
    try:
        claims = verify(keyset, token, policy.audience, max_lifetime_s=policy.max_lifetime_s)
    except TokenError as exc:
        return Decision(True, reason=f"token rejected: {exc.reason}")
    use = claims.extra().get("token_use", "access")
    if use != "access":
        return Decision(True, reason=f"token rejected: a {str(use)[:20]} token is not an access token")
    return _for_account(_claims_context(claims), _bound_account(claims), source_ip, lookups)


def _bound_account(claims: Claims) -> str | None:
    value = claims.extra().get("account_id")
    try:
        return str(uuid.UUID(str(value))) if value else None
    except ValueError:
        return None


def _claims_context(claims: Claims) -> dict[str, Any]:
    kind = "service" if claims.sub.startswith("svc:") else "user"
    context = {"sub": claims.sub, "scope": " ".join(claims.scope), "kind": kind, "exp": int(claims.exp)}
    account = _bound_account(claims)
    return {**context, "account_id": account} if account else context


def authorize(
    headers: Mapping[str, str], source_ip: str, *, keyset: Mapping[str, Any], policy: TokenPolicy, lookups: Lookups
) -> Decision:
    """Authenticate the request's credential; an unauthenticated decision is allowed with an empty context."""
    key_id = headers.get("apca-api-key-id")
    if key_id:
        return _api_key(key_id, headers.get("apca-api-secret-key"), source_ip, lookups)
    token = bearer_token(headers.get("authorization"))
    if token is None:
        return Decision(True, reason="no credential")
    return _bearer(token, source_ip, keyset, policy, lookups)
