"""Consumes `market.ticks`: rolls ticks into one-minute bars and streams closed bars to `market.bars`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_etl.bar_settings import BarSettings
from tp_etl.latest_prices import remember_latest, remember_latest_quotes
from tp_etl.rollup import roll_up
from tp_etl.tick_batch import decode_records
from tradeplane import db, kafka_producer
from tradeplane.msk_records import plain_records
from tradeplane.observability import instrument, logger, metrics, set_correlation_id
from tradeplane.settings import KafkaSettings, PostgresSettings, RedisSettings, load_settings


class Settings(PostgresSettings, KafkaSettings, RedisSettings, BarSettings):
    """Consumes market.ticks, writes market.bars in Postgres, produces market.bars, keeps `px:` prices in Redis."""


SETTINGS = load_settings(Settings)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    batch = decode_records(plain_records(event))
    for bad in batch.rejected:
        # Malformed records can never succeed; retrying them would only delay their partition.
        logger.error("record rejected", extra=bad.__dict__)
    if batch.trades:
        set_correlation_id(batch.correlation_id)
    with db.transaction() as conn:
        result = roll_up(
            conn,
            batch.trades,
            consumer="bar_aggregator",
            producer="bar_aggregator",
            correlation_id=batch.correlation_id,
            publish=kafka_producer.publish_many,
            flush=kafka_producer.flush,
            intervals=SETTINGS.intervals,
            grace=SETTINGS.grace,
        )
    remember_latest(tick for _, tick in batch.trades)  # after the commit: a cache, never ahead of the book
    remember_latest_quotes(batch.quotes)
    rejected = batch.rejected
    metrics.add_metric(name="TicksApplied", unit=MetricUnit.Count, value=result.applied)
    metrics.add_metric(name="BarsPublished", unit=MetricUnit.Count, value=len(result.published))
    metrics.add_metric(name="RecordsRejected", unit=MetricUnit.Count, value=len(rejected))
    logger.info(
        "batch applied",
        extra={
            "applied": result.applied,
            "duplicates": result.duplicates,
            "bars_published": len(result.published),
            "rejected": len(rejected),
        },
    )
    return {"applied": result.applied, "duplicates": result.duplicates, "published": len(result.published)}
