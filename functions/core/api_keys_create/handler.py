"""POST /v1/api-keys: a new API key for one account; the secret is shown once (a retry with the same
Idempotency-Key returns the same key, without its secret)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core import api_keys
from tp_core.models import ApiKeyCreate
from tp_core.routes import caller, idempotency_key, json_response, new_app
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Writes core.api_keys."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.post("/v1/api-keys")
def api_keys_create(request: ApiKeyCreate) -> Response[Any]:
    created = api_keys.create_api_key(caller(app), request, idempotency_key(app))
    response = json_response(created.view, 201)
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
