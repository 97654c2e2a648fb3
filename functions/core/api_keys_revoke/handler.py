"""DELETE /v1/api-keys/{key_id}: revoke one of the caller's API keys."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core import api_keys
from tp_core.routes import caller, new_app
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Writes core.api_keys.revoked_at."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.delete("/v1/api-keys/<key_id>")
def api_keys_revoke(key_id: Annotated[str, Path(pattern=r"^PK[A-Z0-9]{18}$")]) -> Response[Any]:
    api_keys.revoke_api_key(caller(app), key_id)
    return Response(status_code=204)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
