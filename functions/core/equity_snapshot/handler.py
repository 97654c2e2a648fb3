"""Scheduled: record each active account's equity for portfolio history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.portfolio import take_snapshots
from tp_core.prices import last_price
from tradeplane.observability import instrument, metrics
from tradeplane.settings import PostgresSettings, RedisSettings, load_settings


class Settings(PostgresSettings, RedisSettings):
    """Reads the book and the latest prices; writes trading.equity_snapshots."""


SETTINGS = load_settings(Settings)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    taken = take_snapshots(last_price, datetime.now(UTC))
    metrics.add_metric(name="EquitySnapshots", unit=MetricUnit.Count, value=taken)
    return {"snapshots": taken}
