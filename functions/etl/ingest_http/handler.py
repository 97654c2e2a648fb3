"""POST /v1/market-data: trades, quotes or bars as JSON or CSV, cleaned, then streamed (and bars stored)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_etl.delivery import live_delivery
from tp_etl.ingest import CSV_TYPE, ingest_request
from tp_etl.ingest_docs import query_parameters, request_body
from tradeplane.http_api import api_resolver, caller
from tradeplane.observability import correlation_id, correlation_paths, instrument, metrics
from tradeplane.settings import KafkaSettings, PostgresSettings, load_settings


class Settings(KafkaSettings, PostgresSettings):
    """Produces market.ticks and market.bars; bars that arrive as bars go to the bar store too."""


SETTINGS = load_settings(Settings)

app = api_resolver(SETTINGS, text_types=(CSV_TYPE,))

DELIVERY = live_delivery()
# The route reads its raw body (one parser for CSV and JSON), so its body is described here for the OpenAPI document.
_BODY, _SCHEMAS = request_body()
OPENAPI_EXTRAS = {
    "POST /v1/market-data": {"requestBody": _BODY, "parameters": query_parameters(), "components": _SCHEMAS}
}


@app.post(
    "/v1/market-data",
    summary="Ingest trades, quotes or bars (JSON or CSV; docs/market-data.md)",
    tags=["market-data"],
    responses={
        202: {"description": "Accepted rows are on their topics (bars stored too); the report lists what was left out"},
        400: {"description": "The body is empty, not UTF-8, or not JSON"},
        413: {"description": "More than 4 MiB or 50,000 rows: send a file to the bucket"},
        415: {"description": "Neither application/json nor text/csv"},
        422: {"description": "Rows rejected (each with line, field and reason); nothing was published"},
        503: {"description": "The stream is unavailable; nothing was published (Retry-After)"},
    },
)
def post_market_data() -> Response[dict[str, Any]]:
    caller(app).require("market-data:write")
    event = app.current_event
    result = ingest_request(
        event.decoded_body or "",
        event.headers.get("content-type", ""),
        dict(event.query_string_parameters or {}),
        DELIVERY,
        now=datetime.now(UTC),
        producer="ingest_http",
        correlation_id=correlation_id(),
    )
    metrics.add_metric(name="RowsAccepted", unit=MetricUnit.Count, value=result.report.total_accepted)
    metrics.add_metric(name="RowsLeftOut", unit=MetricUnit.Count, value=result.report.dropped)
    report = result.report.as_dict()
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body={**report, "event_ids": result.event_ids},
    )


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
