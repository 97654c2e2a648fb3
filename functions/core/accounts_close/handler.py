"""POST /v1/accounts/{account_id}/close: close an account without open orders or positions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core import accounts
from tp_core.routes import caller, json_response, new_app
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Closes an account."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.post("/v1/accounts/<account_id>/close")
def accounts_close(account_id: UUID) -> Response[Any]:
    return json_response(accounts.close_account(caller(app), account_id))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
