"""What every Core API route handler shares: the resolver setup, the caller, JSON answers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from tradeplane.auth import Principal, anonymous_response
from tradeplane.envelope import jsonable
from tradeplane.problems import register_problem_handlers


def new_app() -> APIGatewayHttpResolver:
    """A resolver with request validation and RFC 9457 problems for every error."""
    app = APIGatewayHttpResolver(enable_validation=True)
    register_problem_handlers(app)
    return app


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


def serve(app: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Resolve an authenticated route: anonymous callers get a 401 before any validation or logic."""
    return anonymous_response(event) or app.resolve(event, context)


def query(app: APIGatewayHttpResolver) -> dict[str, str]:
    """The query string as a dict (repeated names arrive comma-joined, as API Gateway sends them)."""
    return dict(app.current_event.query_string_parameters or {})


def client_order_id(app: APIGatewayHttpResolver) -> str:
    from tradeplane.problems import unprocessable

    value = query(app).get("client_order_id", "")
    if not 1 <= len(value) <= 48:
        raise unprocessable("client_order_id (1 to 48 characters) is required")
    return value
