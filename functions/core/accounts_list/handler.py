"""GET /v1/accounts: the caller's accounts with cash and buying power."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core import accounts
from tp_core.routes import caller, json_response, new_app
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads the caller's accounts."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.get("/v1/accounts")
def accounts_list() -> Response[Any]:
    return json_response(accounts.list_accounts(caller(app)))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
