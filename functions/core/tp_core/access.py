"""Who may act on what: the caller's user id for /v1 routes, the bound account for /v2 routes."""

from __future__ import annotations

import uuid

from tradeplane.auth import Principal
from tradeplane.problems import forbidden


def user_id(caller: Principal, scope: str) -> uuid.UUID:
    """The signed-in user behind a /v1 management call (API keys and services may not manage)."""
    caller.require(scope)
    try:
        if caller.kind == "user":
            return uuid.UUID(caller.subject)
    except ValueError:
        pass
    raise forbidden("this operation needs a signed-in user", code=40310000, message="forbidden")


def trading_account(caller: Principal, scope: str) -> uuid.UUID:
    """The account a /v2 call acts on: the one its API key or token is bound to."""
    caller.require(scope)
    return uuid.UUID(caller.require_account())
