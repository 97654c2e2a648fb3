"""POST /v1/market-data: validate a batch of ticks and stream them to `market.ticks`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_etl.ingest import ingest
from tp_etl.models import TickBatch
from tradeplane import kafka_producer
from tradeplane.auth import Principal
from tradeplane.http_guard import resolve
from tradeplane.observability import correlation_id, correlation_paths, instrument, metrics
from tradeplane.problems import register_problem_handlers
from tradeplane.settings import KafkaSettings, load_settings


class Settings(KafkaSettings):
    """Produces market.ticks."""


SETTINGS = load_settings(Settings)

app = APIGatewayHttpResolver(enable_validation=True)
register_problem_handlers(app)


@app.post(
    "/v1/market-data",
    summary="Ingest a batch of ticks",
    tags=["market-data"],
    responses={
        202: {
            "description": "Every tick is on market.ticks",
            "content": {content_types.APPLICATION_JSON: {"schema": {"type": "object"}}},
        }
    },
)
def post_market_data(batch: TickBatch) -> Response[dict[str, Any]]:
    Principal.from_authorizer(app.current_event.request_context.authorizer.get_lambda).require("market-data:write")
    result = ingest(batch, producer="ingest_http", correlation_id=correlation_id(), publish=kafka_producer.publish_many)
    kafka_producer.flush()  # answer 202 only once Kafka has acknowledged every tick
    metrics.add_metric(name="TicksAccepted", unit=MetricUnit.Count, value=result.accepted)
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body={"accepted": result.accepted, "event_ids": result.event_ids},
    )


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
