"""DELETE /v2/positions/{symbol_or_asset_id}: close all, qty or percentage of a position with a market order."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.position_closing import close_position
from tp_core.positions import CloseRequest
from tp_core.routes import caller, json_response, new_app, query
from tradeplane.latest_price import last_price
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import KafkaSettings, PostgresSettings, RateLimitSettings, load_settings


class Settings(KafkaSettings, PostgresSettings, RateLimitSettings):
    """Submits the closing order; publishes orders.submitted."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.delete("/v2/positions/<symbol_or_asset_id>")
def positions_close(symbol_or_asset_id: str) -> Response[Any]:
    request = CloseRequest.model_validate(query(app))
    return json_response(close_position(caller(app), symbol_or_asset_id, request, prices=last_price))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
