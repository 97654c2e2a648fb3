"""PATCH /v2/orders/{order_id}: replace an open order with new qty, prices or time in force."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.order_changes import replace_order
from tp_core.order_models import ReplaceRequest
from tp_core.routes import caller, json_response, new_app
from tradeplane.latest_price import last_price
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import KafkaSettings, PostgresSettings, RateLimitSettings, load_settings


class Settings(KafkaSettings, PostgresSettings, RateLimitSettings):
    """Writes the replacement order; publishes orders.submitted."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.patch("/v2/orders/<order_id>")
def orders_replace(order_id: UUID, change: ReplaceRequest) -> Response[Any]:
    return json_response(replace_order(caller(app), order_id, change, prices=last_price).order)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
