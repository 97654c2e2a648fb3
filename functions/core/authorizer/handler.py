"""The HTTP API's Lambda authorizer (payload 2.0, simple responses)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerResponseV2,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.authorization import authorize
from tradeplane.observability import instrument, logger
from tradeplane.settings import FunctionSettings, load_settings
from tradeplane.tokens import load_keyset


class Settings(FunctionSettings):
    secret_jwt_signing_keys: str  # uses.secrets = ["jwt-signing-keys"]
    api_audience: str = "tradeplane-api"
    # Tokens that claim to live longer are refused, however well signed (TP_MAX_TOKEN_LIFETIME_S).
    max_token_lifetime_s: int = 24 * 3600


SETTINGS = load_settings(Settings)


@instrument
@event_source(data_class=APIGatewayAuthorizerEventV2)
def handler(event: APIGatewayAuthorizerEventV2, context: LambdaContext) -> dict[str, Any]:
    keyset = load_keyset(SETTINGS.secret_jwt_signing_keys)
    decision = authorize(
        event.headers.get("authorization"),
        keyset=keyset,
        audience=SETTINGS.api_audience,
        max_lifetime_s=SETTINGS.max_token_lifetime_s,
    )
    if not decision.allowed:
        logger.info("denied", extra={"reason": decision.reason, "route": event.route_key})
    return APIGatewayAuthorizerResponseV2(authorize=decision.allowed, context=decision.context).asdict()
