"""The caller of a route, as the authorizer described it.

The authorizer answers every request it can parse with "allowed" and says in its
context whether the caller proved who they are (`sub` set) or not. Routes turn an
anonymous context into a 401 here, because an HTTP API's simple-response
authorizer can only deny with a 403, and clients (Alpaca's SDKs included) expect
a 401 with a body they can read for a bad or missing credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tradeplane.problems import Problem, forbidden, problem_response, unauthorized

PrincipalKind = Literal["user", "api_key", "service"]
NOT_AUTHORIZED = "request is not authorized"


def not_authorized() -> Problem:
    """401 with Alpaca's code and message, so both problem+json and Alpaca clients read it."""
    return unauthorized(NOT_AUTHORIZED, code=40110000, message=NOT_AUTHORIZED)


def anonymous_response(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The 401 answer for a request the authorizer could not authenticate, else None.

    Handlers call it before routing, so an anonymous caller learns nothing from
    request validation (a 422 would confirm the route and its input shape).
    """
    context = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}
    return None if context.get("sub") else problem_response(not_authorized())


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    kind: PrincipalKind = "user"
    account_id: str | None = None  # the account an API key (or an account-bound token) acts on

    @classmethod
    def from_authorizer(cls, context: Mapping[str, Any] | None) -> Principal:
        """The authenticated caller; a 401 problem when the authorizer could not authenticate one."""
        ctx = context or {}
        subject = str(ctx.get("sub") or "")
        if not subject:
            raise not_authorized()
        kind = str(ctx.get("kind") or "user")
        return cls(
            subject,
            frozenset(str(ctx.get("scope", "")).split()),
            kind if kind in ("user", "api_key", "service") else "user",  # type: ignore[arg-type]
            str(ctx.get("account_id")) if ctx.get("account_id") else None,
        )

    def require(self, scope: str) -> None:
        """Raise a 403 problem unless the caller holds `scope`."""
        if scope not in self.scopes:
            detail = f"this operation needs the '{scope}' scope"
            raise forbidden(detail, code=40310000, message=detail)

    def require_account(self) -> str:
        """The account a /v2 route acts on: the credential must be bound to one."""
        if self.account_id is None:
            detail = "this credential is not bound to an account; use an API key or a token for one account"
            raise forbidden(detail, code=40310000, message=detail)
        return self.account_id
