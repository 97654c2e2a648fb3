"""Scheduled: record each active account's equity for portfolio history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.portfolio import take_snapshots
from tradeplane.latest_price import last_price
from tradeplane.observability import instrument, metrics
from tradeplane.settings import PostgresSettings, RedisSettings, load_settings


class Settings(PostgresSettings, RedisSettings):
    """Reads the book and the latest prices; writes trading.equity_snapshots."""


SETTINGS = load_settings(Settings)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    # The schedule's own time: a redelivered event records the same minute, once.
    at = datetime.fromisoformat(event["time"].replace("Z", "+00:00")) if event.get("time") else datetime.now(UTC)
    taken = take_snapshots(last_price, at)
    metrics.add_metric(name="EquitySnapshots", unit=MetricUnit.Count, value=taken)
    return {"snapshots": taken}
