"""What every Core API route handler shares: the resolver setup, the caller, JSON answers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from tradeplane.auth import Principal
from tradeplane.envelope import jsonable
from tradeplane.http_api import api_resolver
from tradeplane.settings import FunctionSettings


def new_app(settings: FunctionSettings, *, authenticated: bool = True) -> APIGatewayHttpResolver:
    """The platform's guarded resolver (anonymous callers 401 unless the route is public, undecodable
    bodies 4xx, validation, RFC 9457 problems with Alpaca's `code` and `message`)."""
    return api_resolver(settings, alpaca=True, authenticated=authenticated)


def caller(app: APIGatewayHttpResolver) -> Principal:
    """The authenticated caller (401 problem when the authorizer found no valid credential)."""
    return Principal.from_authorizer(app.current_event.request_context.authorizer.get_lambda)


def json_response(body: Any, status: int = 200) -> Response[Any]:
    """Decimals as strings, times as RFC 3339: Alpaca's number encoding."""
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=jsonable(body),
        headers={"Cache-Control": "no-store"},
    )


def query(app: APIGatewayHttpResolver) -> dict[str, str]:
    """The query string as a dict (repeated names arrive comma-joined, as API Gateway sends them)."""
    return dict(app.current_event.query_string_parameters or {})


def client_order_id(app: APIGatewayHttpResolver) -> str:
    from tradeplane.problems import unprocessable

    value = query(app).get("client_order_id", "")
    if not 1 <= len(value) <= 48:
        raise unprocessable("client_order_id (1 to 48 characters) is required")
    return value


def idempotency_key(app: APIGatewayHttpResolver) -> str | None:
    """The request's `Idempotency-Key` header (1 to 64 characters), or None when it has none."""
    from tradeplane.problems import unprocessable

    value = app.current_event.headers.get("idempotency-key")
    if value is None or value == "":
        return None
    if len(value) > 64:
        raise unprocessable("Idempotency-Key must be 1 to 64 characters")
    return value
