"""GET /v1/api-keys: the caller's API keys, without secrets."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core import api_keys
from tp_core.routes import caller, json_response, new_app
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads core.api_keys."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.get("/v1/api-keys")
def api_keys_list() -> Response[Any]:
    return json_response(api_keys.list_api_keys(caller(app)))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
