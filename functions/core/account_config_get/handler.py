"""GET /v2/account/configurations: Alpaca's AccountConfiguration of the account."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.routes import caller, json_response, new_app
from tp_core.trading_account import get_configurations
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads core.risk_settings."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.get("/v2/account/configurations")
def account_config_get() -> Response[Any]:
    return json_response(get_configurations(caller(app)))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
