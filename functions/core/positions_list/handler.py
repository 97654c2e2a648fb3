"""GET /v2/positions: the account's open positions at the latest price."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.positions import list_positions
from tp_core.routes import caller, json_response, new_app
from tradeplane.latest_price import last_price
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads trading.positions."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.get("/v2/positions")
def positions_list() -> Response[Any]:
    return json_response(list_positions(caller(app), prices=last_price))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
