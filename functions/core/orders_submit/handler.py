"""POST /v2/orders: submit an order (risk-checked, reserved, published to orders.submitted)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.order_models import OrderRequest
from tp_core.orders import submit_order
from tp_core.routes import caller, json_response, new_app
from tradeplane.latest_price import last_price
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import KafkaSettings, PostgresSettings, RateLimitSettings, load_settings


class Settings(KafkaSettings, PostgresSettings, RateLimitSettings):
    """Writes the order, reservation and outbox row; publishes orders.submitted."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.post("/v2/orders")
def orders_submit(order: OrderRequest) -> Response[Any]:
    return json_response(submit_order(caller(app), order, prices=last_price).order)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
