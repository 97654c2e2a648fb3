"""POST /v1/accounts: open a paper account with its starting cash."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core import accounts
from tp_core.models import AccountCreate
from tp_core.routes import caller, idempotency_key, json_response, new_app
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Writes core.accounts and the opening deposit."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.post("/v1/accounts")
def accounts_create(request: AccountCreate) -> Response[Any]:
    return json_response(accounts.create_account(caller(app), request, idempotency_key(app)), 201)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
