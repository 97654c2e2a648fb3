"""Scheduled: close the bars of quiet symbols by the clock and stream them to `market.bars`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_etl.bar_settings import BarSettings
from tp_etl.rollup import close_quiet
from tradeplane import db, kafka_producer
from tradeplane.observability import instrument, metrics
from tradeplane.settings import KafkaSettings, PostgresSettings, load_settings


class Settings(PostgresSettings, KafkaSettings, BarSettings):
    """Closes market.bars rows in Postgres and produces market.bars; the same intervals and grace as bar_aggregator."""


SETTINGS = load_settings(Settings)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    # Now, not the event's time: a late or retried invocation should close everything that is due.
    with db.transaction() as conn:
        closed = close_quiet(
            conn,
            datetime.now(UTC),
            intervals=SETTINGS.intervals,
            grace=SETTINGS.grace,
            producer="bar_closer",
            publish=kafka_producer.publish_many,
            flush=kafka_producer.flush,
        )
    metrics.add_metric(name="BarsClosedByClock", unit=MetricUnit.Count, value=len(closed))
    return {"closed": len(closed)}
