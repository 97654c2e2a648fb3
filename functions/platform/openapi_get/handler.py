"""GET /v1/openapi.json: the API's OpenAPI document, as committed (generated from the code)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_platform.openapi import openapi_document
from tradeplane.http_api import api_resolver
from tradeplane.http_guard import resolve
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import RateLimitSettings, load_settings


class Settings(RateLimitSettings):
    """Public route: rate limited per source IP."""


SETTINGS = load_settings(Settings)

app = api_resolver(SETTINGS)


@app.get(
    "/v1/openapi.json",
    summary="This API's OpenAPI document",
    tags=["platform"],
    responses={
        200: {
            "description": "The OpenAPI 3.1 document",
            "content": {content_types.APPLICATION_JSON: {"schema": {"type": "object"}}},
        }
    },
)
def get_openapi() -> Response[str]:
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=openapi_document(),
        headers={"Cache-Control": "public, max-age=300"},
    )


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
