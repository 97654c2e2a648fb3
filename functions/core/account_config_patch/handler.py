"""PATCH /v2/account/configurations: change the account's configuration (no_shorting, suspend_trade, ...)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.routes import caller, json_response, new_app
from tp_core.trading_account import ConfigurationPatch, patch_configurations
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Writes core.risk_settings."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.patch("/v2/account/configurations")
def account_config_patch(patch: ConfigurationPatch) -> Response[Any]:
    return json_response(patch_configurations(caller(app), patch))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
