"""Consumes `orders.submitted`: sends each order intent to the account's venue and books the outcome exactly once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_execution.config import PaperVenueSettings, VenueSettings
from tp_execution.executor import INTENTS, execute
from tp_execution.paper_venue import PaperVenue
from tp_execution.venues import Router, powertools_secret
from tradeplane.latest_price import last_price, last_prices
from tradeplane.msk_records import envelopes, parse_msk_event
from tradeplane.observability import instrument, logger, metrics, set_correlation_id
from tradeplane.outage import ride_out
from tradeplane.settings import KafkaSettings, PostgresSettings, RedisSettings, load_settings


class Settings(PostgresSettings, KafkaSettings, RedisSettings, PaperVenueSettings, VenueSettings):
    """Writes fills, statuses, positions, ledger and inbox; reads `px:` and venue secrets; produces orders.events."""


SETTINGS = load_settings(Settings)
VENUE = PaperVenue(SETTINGS.fill_config(), last_price, last_prices)
ROUTER = Router(
    SETTINGS.secret_prefix_venues, powertools_secret(SETTINGS.venue_secret_max_age_s), SETTINGS.venue_timeout_s
)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    intents, rejected = envelopes(parse_msk_event(event), INTENTS)
    for bad in rejected:
        logger.error("record rejected", extra=bad.__dict__)  # can never succeed: never hold the partition for it
    if intents:
        set_correlation_id(intents[0].correlation_id)
    # A database outage is waited out here (execute is idempotent), so good orders do not burn the event
    # source's retries and end in the dead-letter topic; a bad record still fails at once.
    result = ride_out(lambda: execute(intents, VENUE, router=ROUTER), context.get_remaining_time_in_millis)
    metrics.add_metric(name="IntentsApplied", unit=MetricUnit.Count, value=result.applied)
    metrics.add_metric(name="IntentsDuplicate", unit=MetricUnit.Count, value=result.duplicates)
    metrics.add_metric(name="RecordsRejected", unit=MetricUnit.Count, value=len(rejected))
    logger.info("batch executed", extra={"applied": result.applied, "duplicates": result.duplicates})
    return {"applied": result.applied, "duplicates": result.duplicates, "rejected": len(rejected)}
