"""GET /v1/logs: aggregated log lines, filtered, newest first, with a cursor (scope admin)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_logging.answers import no_store
from tp_logging.queries import LogQuery, search_logs
from tradeplane import db
from tradeplane.http_api import api_resolver, caller
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads ops.logs from the replica when one is configured; rate limited per principal (searches are not free)."""


SETTINGS = load_settings(Settings)
app = api_resolver(SETTINGS)


@app.get(
    "/v1/logs",
    summary="Search aggregated log lines (scope admin)",
    tags=["logs"],
    responses={
        200: {"description": "A page of lines and the cursor of the next one"},
        403: {"description": "The caller lacks the admin scope"},
    },
)
def get_logs() -> Response[dict[str, Any]]:
    caller(app).require("admin")
    query = LogQuery.model_validate(dict(app.current_event.query_string_parameters or {}))
    with db.connection(read_only=True) as conn:
        page = search_logs(conn, query)
    return no_store(page)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
