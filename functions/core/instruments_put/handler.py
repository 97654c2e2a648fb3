"""PUT /v1/instruments: an admin adds or updates instruments (idempotent upsert by symbol)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.instruments import InstrumentBatch, UpsertResult, upsert_instruments
from tradeplane import db
from tradeplane.http_api import api_resolver, caller
from tradeplane.http_guard import resolve
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Writes market.instruments on the primary; rate limited per principal."""


SETTINGS = load_settings(Settings)

app = api_resolver(SETTINGS)


@app.put(
    "/v1/instruments",
    summary="Add or update instruments (scope admin)",
    tags=["admin"],
    responses={
        200: {"description": "What was created, updated or left unchanged, and the instruments as stored"},
        403: {"description": "The caller lacks the admin scope"},
    },
)
def put_instruments(batch: InstrumentBatch) -> UpsertResult:
    caller(app).require("admin")
    with db.transaction() as conn:
        return upsert_instruments(conn, batch)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
