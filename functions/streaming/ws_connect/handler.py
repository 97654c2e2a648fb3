"""WebSocket `$connect`: the connection is recorded; Alpaca's protocol authenticates in its first message."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import APIGatewayWebSocketConnectEventModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_streaming.connections import open_connection
from tradeplane.observability import instrument
from tradeplane.settings import RedisSettings, load_settings


class Settings(RedisSettings):
    """Writes the connection's `ws:` key. Imports only `tp_streaming.connections`: the session's database,
    token and replay code (psycopg, PyJWT, cryptography) doubled a cold `$connect`'s init (~0.5 -> ~1 s CPU here)."""


SETTINGS = load_settings(Settings)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    request = parse(event=event, model=APIGatewayWebSocketConnectEventModel)
    open_connection(request.request_context.connection_id)
    return {"statusCode": 200}
