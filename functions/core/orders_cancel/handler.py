"""DELETE /v2/orders/{order_id}: cancel one open order (204)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.order_changes import cancel_order
from tp_core.routes import caller, new_app
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import KafkaSettings, PostgresSettings, RateLimitSettings, load_settings


class Settings(KafkaSettings, PostgresSettings, RateLimitSettings):
    """Writes the cancel; publishes the cancel request on orders.submitted."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.delete("/v2/orders/<order_id>")
def orders_cancel(order_id: UUID) -> Response[Any]:
    cancel_order(caller(app), order_id)
    return Response(status_code=204)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
