"""Consumes `market.ticks` and `market.bars`: fills resting orders whose prices are crossed, once each."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_execution.config import PaperVenueSettings
from tp_execution.matcher import MARKET_EVENTS, match, price_point
from tradeplane.contracts.market import QUOTE_EVENT
from tradeplane.msk_records import envelopes, parse_msk_event
from tradeplane.observability import instrument, logger, metrics
from tradeplane.outage import ride_out
from tradeplane.settings import KafkaSettings, PostgresSettings, load_settings


class Settings(PostgresSettings, KafkaSettings, PaperVenueSettings):
    """Writes fills, statuses, positions, ledger and inbox; produces orders.events."""


SETTINGS = load_settings(Settings)
CONFIG = SETTINGS.fill_config()


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    # Quotes share market.ticks with trades; the paper venue fills on trades and bars only.
    market, rejected = envelopes(parse_msk_event(event), MARKET_EVENTS, skip_types={QUOTE_EVENT})
    for bad in rejected:
        logger.error("record rejected", extra=bad.__dict__)
    points = [p for p in map(price_point, market) if p is not None]
    # A database outage is waited out here, as the executor does (match is idempotent: claims per event and
    # order), so ticks and bars do not burn the event source's retries into the dead-letter topic.
    result = ride_out(lambda: match(points, CONFIG), context.get_remaining_time_in_millis)
    metrics.add_metric(name="MatcherFills", unit=MetricUnit.Count, value=result.fills)
    metrics.add_metric(name="RecordsRejected", unit=MetricUnit.Count, value=len(rejected))
    return {"points": len(points), "fills": result.fills, "orders_changed": result.orders_changed}
