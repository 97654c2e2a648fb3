"""Scheduled: follows orders routed to a broker (fills, ends) and compares its positions with the book."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_execution.config import VenueSettings
from tp_execution.reconcile import reconcile
from tp_execution.venues import Router, powertools_secret
from tradeplane.observability import instrument, logger, metrics
from tradeplane.settings import KafkaSettings, PostgresSettings, load_settings


class Settings(PostgresSettings, KafkaSettings, VenueSettings):
    """Reads routed orders and venue secrets; books fills and ends; produces orders.events."""


SETTINGS = load_settings(Settings)
ROUTER = Router(
    SETTINGS.secret_prefix_venues, powertools_secret(SETTINGS.venue_secret_max_age_s), SETTINGS.venue_timeout_s
)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = reconcile(ROUTER)
    for difference in report.differences:
        logger.warning("venue and book differ", extra={"difference": difference})
    metrics.add_metric(name="RoutedOrdersChecked", unit=MetricUnit.Count, value=report.checked)
    metrics.add_metric(name="VenueFillsBooked", unit=MetricUnit.Count, value=report.fills_booked)
    metrics.add_metric(name="VenueDifferences", unit=MetricUnit.Count, value=len(report.differences))
    return {
        "checked": report.checked,
        "fills_booked": report.fills_booked,
        "ended": report.ended,
        "differences": len(report.differences),
    }
