"""WebSocket `$default`: Alpaca's `authenticate` and `listen` (with the replay extension)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import APIGatewayWebSocketMessageEventModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_streaming.sender import Sender
from tp_streaming.session import Authenticator, Incoming, handle_message
from tradeplane.authorization import Lookups, TokenPolicy
from tradeplane.observability import instrument, metrics
from tradeplane.settings import PostgresSettings, RedisSettings, WebSocketSettings, load_settings
from tradeplane.tokens import load_keyset


class Settings(PostgresSettings, RedisSettings, WebSocketSettings):
    """Reads API keys and accounts (authenticate) and the outbox (replay); posts replies to the connection."""

    secret_jwt_signing_keys: str  # uses.secrets = ["jwt-signing-keys"]
    api_audience: str = "tradeplane-api"
    max_token_lifetime_s: int = 24 * 3600


SETTINGS = load_settings(Settings)
SENDER = Sender(SETTINGS.ws_endpoint, SETTINGS.ws_connect_timeout_s, SETTINGS.ws_read_timeout_s, workers=1)
POLICY = TokenPolicy(SETTINGS.api_audience, SETTINGS.max_token_lifetime_s)
# The keyset secret is read only when a message presents a token (API keys and `listen` frames need none).
AUTH = Authenticator(lambda: load_keyset(SETTINGS.secret_jwt_signing_keys), POLICY, Lookups())


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    request = parse(event=event, model=APIGatewayWebSocketMessageEventModel)
    ctx = request.request_context
    incoming = Incoming(
        ctx.connection_id,
        request.body if isinstance(request.body, str) else None,
        request.is_base64_encoded,
        str(ctx.identity.source_ip.network_address),
    )
    outcome = handle_message(incoming, AUTH, SENDER)
    metrics.add_metric(name=f"StreamMessage_{outcome}", unit=MetricUnit.Count, value=1)
    return {"statusCode": 200}
