"""The Lambda authorizer's decision: who is calling, with which scopes.

The token must be a Bearer JWT signed by a key of the keyset, for this API's
audience, unexpired (verification pins the algorithm per key id). The decision's
context reaches every route as `requestContext.authorizer.lambda`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tradeplane.tokens import TokenError, verify


@dataclass(frozen=True)
class Decision:
    allowed: bool
    context: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authorize(authorization: str | None, *, keyset: Mapping[str, Any], audience: str, max_lifetime_s: int) -> Decision:
    token = bearer_token(authorization)
    if token is None:
        return Decision(False, reason="no bearer token")
    try:
        claims = verify(keyset, token, audience, max_lifetime_s=max_lifetime_s)
    except TokenError as exc:
        return Decision(False, reason=f"token rejected: {exc.reason}")
    return Decision(
        True,
        {"sub": claims.sub, "scope": " ".join(claims.scope), "exp": int(claims.exp), "jti": claims.jti},
    )
