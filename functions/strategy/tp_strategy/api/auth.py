"""The caller of a strategy route, as the Lambda authorizer described it (the same context Core routes read)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from tradeplane.auth import Principal
from tradeplane.problems import unprocessable

__all__ = ["CALLER", "IDEMPOTENCY_KEY", "principal"]


def principal(request: Request) -> Principal:
    """The authenticated caller (a 401 problem when the authorizer found no valid credential)."""
    event: dict[str, Any] = request.scope.get("aws.event") or {}
    context = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda")
    return Principal.from_authorizer(context)


def idempotency_key(request: Request) -> str | None:
    """The `Idempotency-Key` header (1 to 64 characters), as Core's POST routes read it."""
    value = request.headers.get("idempotency-key")
    if not value:
        return None
    if len(value) > 64:
        raise unprocessable("Idempotency-Key must be 1 to 64 characters")
    return value


CALLER = Annotated[Principal, Depends(principal)]
IDEMPOTENCY_KEY = Annotated[str | None, Depends(idempotency_key)]
