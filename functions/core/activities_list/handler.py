"""GET /v2/account/activities: account activities (FILL, CSD, CSW) with Alpaca's paging."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.activities import ActivityFilter, list_activities
from tp_core.routes import caller, json_response, new_app, query
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads fills and the cash ledger (replica when configured)."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.get("/v2/account/activities")
def activities_list() -> Response[Any]:
    return json_response(list_activities(caller(app), ActivityFilter.model_validate(query(app))))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
