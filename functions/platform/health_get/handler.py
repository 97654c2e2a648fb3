"""GET /v1/health: the platform's dependencies, each with its latency; 503 when one is down."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_platform.health import check_health, postgres_probe, redis_probe
from tradeplane.http_guard import resolve
from tradeplane.observability import correlation_paths, instrument
from tradeplane.problems import register_problem_handlers
from tradeplane.settings import PostgresSettings, RedisSettings, load_settings


class Settings(PostgresSettings, RedisSettings):
    """Probes the read replica (or the primary) and Redis."""


SETTINGS = load_settings(Settings)

app = APIGatewayHttpResolver()
register_problem_handlers(app)


@app.get(
    "/v1/health",
    summary="Platform health",
    tags=["platform"],
    responses={
        200: {"description": "Every dependency answered"},
        503: {
            "description": "A dependency is down (same body)",
            "content": {content_types.APPLICATION_JSON: {"schema": {"type": "object"}}},
        },
    },
)
def get_health() -> Response[dict[str, Any]]:
    report = check_health({"postgres": postgres_probe, "redis": redis_probe})
    return Response(
        status_code=200 if report.ok else 503,
        content_type=content_types.APPLICATION_JSON,
        body=report.as_dict(),
        headers={"Cache-Control": "no-store"},
    )


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
