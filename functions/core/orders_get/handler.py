"""GET /v2/orders/{order_id}: one order of the account, with its legs."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.order_queries import get_order
from tp_core.routes import caller, json_response, new_app
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads trading.orders."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.get("/v2/orders/<order_id>")
def orders_get(order_id: UUID) -> Response[Any]:
    return json_response(get_order(caller(app), order_id))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
