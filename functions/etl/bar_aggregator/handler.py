"""Consumes `market.ticks`: rolls ticks into one-minute bars and streams closed bars to `market.bars`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_etl.bar_settings import BarSettings
from tp_etl.latest_prices import remember_latest, remember_latest_quotes
from tp_etl.rollup import roll_up
from tradeplane import db, kafka_producer
from tradeplane.contracts.market import QUOTE_EVENT, TICK_EVENT, quote_from_envelope, tick_from_envelope
from tradeplane.msk_records import envelopes_by_type, parse_msk_event
from tradeplane.observability import instrument, logger, metrics, set_correlation_id
from tradeplane.settings import KafkaSettings, PostgresSettings, RedisSettings, load_settings


class Settings(PostgresSettings, KafkaSettings, RedisSettings, BarSettings):
    """Consumes market.ticks, writes market.bars in Postgres, produces market.bars, keeps `px:` prices in Redis."""


SETTINGS = load_settings(Settings)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    by_type, rejected = envelopes_by_type(parse_msk_event(event), (TICK_EVENT, QUOTE_EVENT))
    ticks, quotes = by_type[TICK_EVENT], by_type[QUOTE_EVENT]
    for bad in rejected:
        # Malformed records can never succeed; retrying them would only delay their partition.
        logger.error("record rejected", extra=bad.__dict__)
    if ticks:
        set_correlation_id(ticks[0].correlation_id)
    parsed = [(env.id, tick_from_envelope(env)) for env in ticks]
    with db.transaction() as conn:
        result = roll_up(
            conn,
            parsed,
            consumer="bar_aggregator",
            producer="bar_aggregator",
            correlation_id=ticks[0].correlation_id if ticks else None,
            publish=kafka_producer.publish_many,
            flush=kafka_producer.flush,
            intervals=SETTINGS.intervals,
            grace=SETTINGS.grace,
        )
    remember_latest(tick for _, tick in parsed)  # after the commit: a cache, never ahead of the book
    remember_latest_quotes(quote_from_envelope(env) for env in quotes)
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
