"""The HTTP API's Lambda authorizer (payload 2.0, simple responses)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerResponseV2,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from tradeplane.authorization import Lookups, TokenPolicy, authorize
from tradeplane.observability import instrument, logger
from tradeplane.settings import PostgresSettings, load_settings
from tradeplane.tokens import load_keyset


class Settings(PostgresSettings):
    secret_jwt_signing_keys: str  # uses.secrets = ["jwt-signing-keys"]
    api_audience: str = "tradeplane-api"
    # Tokens that claim to live longer are refused, however well signed (TP_MAX_TOKEN_LIFETIME_S).
    max_token_lifetime_s: int = 24 * 3600


SETTINGS = load_settings(Settings)
POLICY = TokenPolicy(SETTINGS.api_audience, SETTINGS.max_token_lifetime_s)
LOOKUPS = Lookups()


@instrument
@event_source(data_class=APIGatewayAuthorizerEventV2)
def handler(event: APIGatewayAuthorizerEventV2, context: LambdaContext) -> dict[str, Any]:
    keyset = load_keyset(SETTINGS.secret_jwt_signing_keys)
    source_ip = event.request_context.http.source_ip
    decision = authorize(event.headers, source_ip, keyset=keyset, policy=POLICY, lookups=LOOKUPS)
    if decision.reason:
        logger.info("not authenticated", extra={"reason": decision.reason, "route": event.route_key})
    return APIGatewayAuthorizerResponseV2(authorize=decision.allowed, context=decision.context).asdict()
