"""Consumes `orders.events`: sends each trade update to its account's listening WebSocket connections."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_streaming.fanout import fan_out
from tp_streaming.sender import Sender
from tradeplane.contracts.trade_updates import TRADE_UPDATE
from tradeplane.msk_records import envelopes, parse_msk_event
from tradeplane.observability import instrument, logger, metrics
from tradeplane.settings import KafkaSettings, PostgresSettings, RedisSettings, WebSocketSettings, load_settings


class Settings(PostgresSettings, RedisSettings, KafkaSettings, WebSocketSettings):
    """Reads `ws:` connections and the orders the events name; posts to connections."""


SETTINGS = load_settings(Settings)
SENDER = Sender(SETTINGS.ws_endpoint, SETTINGS.ws_connect_timeout_s, SETTINGS.ws_read_timeout_s)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    updates, rejected = envelopes(parse_msk_event(event), TRADE_UPDATE)
    for bad in rejected:
        logger.error("record rejected", extra=bad.__dict__)
    result = fan_out(updates, SENDER)
    metrics.add_metric(name="StreamFramesSent", unit=MetricUnit.Count, value=result.frames_sent)
    metrics.add_metric(name="StreamSendFailures", unit=MetricUnit.Count, value=result.failed)
    metrics.add_metric(name="StreamConnectionsGone", unit=MetricUnit.Count, value=result.gone)
    metrics.add_metric(name="StreamDuplicatesDropped", unit=MetricUnit.Count, value=result.duplicates)
    if result.failed:
        logger.warning("some connections were not sent to", extra={"failed": result.failed})
    return {"events": result.events, "sent": result.frames_sent, "failed": result.failed, "gone": result.gone}
