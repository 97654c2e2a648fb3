"""GET /v1/orders/{order_id}/trace: every log line and event of one order's flow, in time order."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_logging.answers import no_store
from tp_logging.queries import order_trace
from tradeplane import db
from tradeplane.http_api import api_resolver, caller
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads ops.logs from the replica when one is configured; rate limited per principal (searches are not free)."""


SETTINGS = load_settings(Settings)
app = api_resolver(SETTINGS)


@app.get(
    "/v1/orders/<order_id>/trace",
    summary="The trace of one order: its lines and events and those of its flows (admin, or the order's account)",
    tags=["logs"],
    responses={
        200: {"description": "Lines in time order, the correlation ids that link them"},
        404: {"description": "No lines for this order that the caller may see"},
    },
)
def get_trace(order_id: str) -> Response[dict[str, Any]]:
    who = caller(app)
    with db.connection(read_only=True) as conn:
        trace = order_trace(conn, who, order_id[:64])
    return no_store(trace)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
