"""Scheduled: expires day orders whose session has closed (exchange calendar); 24/7 assets are skipped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_execution.expiry import expire_day_orders, xnys_last_close
from tradeplane.observability import instrument, metrics
from tradeplane.settings import KafkaSettings, PostgresSettings, load_settings


class Settings(PostgresSettings, KafkaSettings):
    """Moves day orders to expired, releases reservations; produces orders.events."""


SETTINGS = load_settings(Settings)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    now = datetime.fromisoformat(event["time"].replace("Z", "+00:00")) if event.get("time") else datetime.now(UTC)
    result = expire_day_orders(now, xnys_last_close)
    metrics.add_metric(name="OrdersExpired", unit=MetricUnit.Count, value=result.expired)
    return {"expired": result.expired}
