"""GET /v2/positions/{symbol_or_asset_id}: one open position by symbol or asset id."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.positions import get_position
from tp_core.routes import caller, json_response, new_app
from tradeplane.latest_price import last_price
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads trading.positions."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.get("/v2/positions/<symbol_or_asset_id>")
def positions_get(symbol_or_asset_id: str) -> Response[Any]:
    return json_response(get_position(caller(app), symbol_or_asset_id, prices=last_price))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
