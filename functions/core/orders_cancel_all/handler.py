"""DELETE /v2/orders: cancel every open order (207, one result per order)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.order_changes import cancel_all_orders
from tp_core.routes import caller, json_response, new_app
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import KafkaSettings, PostgresSettings, RateLimitSettings, load_settings


class Settings(KafkaSettings, PostgresSettings, RateLimitSettings):
    """Writes the cancels; publishes the cancel requests on orders.submitted."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.delete("/v2/orders")
def orders_cancel_all() -> Response[Any]:
    return json_response(cancel_all_orders(caller(app)), 207)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
