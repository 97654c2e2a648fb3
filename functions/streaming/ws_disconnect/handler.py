"""WebSocket `$disconnect`: the connection and its subscriptions are forgotten."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import APIGatewayWebSocketDisconnectEventModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_streaming.connections import remove
from tradeplane.observability import instrument
from tradeplane.settings import RedisSettings, load_settings


class Settings(RedisSettings):
    """Deletes the connection's `ws:` keys (importing only `tp_streaming.connections`, as ws_connect)."""


SETTINGS = load_settings(Settings)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    request = parse(event=event, model=APIGatewayWebSocketDisconnectEventModel)
    remove(request.request_context.connection_id)
    return {"statusCode": 200}
