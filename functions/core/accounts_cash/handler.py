"""POST /v1/accounts/{account_id}/cash-movements: deposit or withdraw cash (idempotent per key)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core import accounts
from tp_core.models import CashMovement
from tp_core.routes import caller, json_response, new_app
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Writes trading.cash_ledger."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.post("/v1/accounts/<account_id>/cash-movements")
def accounts_cash(account_id: UUID, request: CashMovement) -> Response[Any]:
    return json_response(accounts.move_cash(caller(app), account_id, request), 201)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
