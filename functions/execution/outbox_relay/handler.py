"""Scheduled: publishes committed but unpublished outbox rows (order intents, trade updates) and marks them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_execution.relay import relay_pending
from tradeplane.observability import instrument, logger, metrics
from tradeplane.settings import KafkaSettings, PostgresSettings, load_settings


class Settings(PostgresSettings, KafkaSettings):
    """Reads and marks trading.outbox; produces orders.submitted and orders.events."""

    relay_min_age_s: float = 10.0  # younger rows are still their writer's to publish
    relay_batch: int = 500


SETTINGS = load_settings(Settings)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    result = relay_pending(min_age_s=SETTINGS.relay_min_age_s, limit=SETTINGS.relay_batch)
    metrics.add_metric(name="OutboxRelayed", unit=MetricUnit.Count, value=result.published)
    if result.published:
        logger.warning("relayed unpublished outbox rows", extra={"published": result.published, "more": result.more})
    return {"published": result.published}
