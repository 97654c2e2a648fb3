"""DELETE /v2/positions: close every position (207), optionally cancelling open orders first."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.order_queries import QueryFlags
from tp_core.position_closing import close_all_positions
from tp_core.routes import caller, json_response, new_app, query
from tradeplane.latest_price import last_price
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import KafkaSettings, PostgresSettings, RateLimitSettings, load_settings


class Settings(KafkaSettings, PostgresSettings, RateLimitSettings):
    """Submits the closing orders; publishes orders.submitted."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.delete("/v2/positions")
def positions_close_all() -> Response[Any]:
    flags = QueryFlags.model_validate(query(app))
    results = close_all_positions(caller(app), cancel_orders=flags.cancel_orders, prices=last_price)
    return json_response(results, 207)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
