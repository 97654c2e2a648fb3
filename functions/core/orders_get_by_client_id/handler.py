"""GET /v2/orders:by_client_order_id: one order of the account by its client_order_id."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.order_queries import get_order_by_client_id
from tp_core.routes import caller, client_order_id, json_response, new_app
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads trading.orders."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.get("/v2/orders:by_client_order_id")
def orders_get_by_client_id() -> Response[Any]:
    return json_response(get_order_by_client_id(caller(app), client_order_id(app)))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
