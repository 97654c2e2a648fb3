"""POST /v1/auth/token: password grant or refresh grant -> access JWT + rotating refresh token."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.identity import issue_tokens
from tp_core.models import TokenRequest
from tp_core.routes import json_response, new_app
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, load_settings
from tradeplane.tokens import load_keyset


class Settings(PostgresSettings):
    """Reads users, writes refresh token families; signs with the JWT keyset."""

    secret_jwt_signing_keys: str  # uses.secrets = ["jwt-signing-keys"]
    api_audience: str = "tradeplane-api"


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS, authenticated=False)  # signing in is how a caller gets a credential


@app.post(
    "/v1/auth/token",
    responses={
        200: {"description": "An access token and a rotated refresh token"},
        401: {"description": "Wrong credentials, or a refresh token that was rotated or revoked"},
    },
)
def post_token(request: Annotated[TokenRequest, Body()]) -> Response[Any]:
    keyset = load_keyset(SETTINGS.secret_jwt_signing_keys)
    return json_response(issue_tokens(request, keyset=keyset, audience=SETTINGS.api_audience))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
