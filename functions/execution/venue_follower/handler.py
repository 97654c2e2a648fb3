"""Scheduled: holds routed accounts' broker `trade_updates` streams for most of the invocation and books
their fills and ends as they happen (the reconciler's poll stays the safety net)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field
from tp_execution.config import FollowSettings, VenueSettings
from tp_execution.follow_leases import Leases
from tp_execution.follower import follow
from tp_execution.venues import Router, powertools_secret
from tradeplane.observability import instrument, logger, metrics
from tradeplane.settings import KafkaSettings, PostgresSettings, RedisSettings, load_settings


class Settings(PostgresSettings, KafkaSettings, RedisSettings, VenueSettings, FollowSettings):
    """Reads routed orders and venue secrets, holds leases in Redis; books fills and ends; produces orders.events."""


class FollowRequest(BaseModel):
    """A scheduled event (its fields are ignored), or `{"hold_s": N}` to follow for less (tests, bench)."""

    model_config = ConfigDict(extra="ignore")
    hold_s: float | None = Field(default=None, gt=0)


SETTINGS = load_settings(Settings)
ROUTER = Router(
    SETTINGS.secret_prefix_venues, powertools_secret(SETTINGS.venue_secret_max_age_s), SETTINGS.venue_timeout_s
)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    request = FollowRequest.model_validate(event)
    hold_s = context.get_remaining_time_in_millis() / 1000 - SETTINGS.follow_stop_before_timeout_s
    if request.hold_s is not None:
        hold_s = min(hold_s, request.hold_s)
    report = follow(
        ROUTER,
        Leases(ttl_s=SETTINGS.follow_lease_ttl_s),
        time.monotonic() + hold_s,
        refresh_s=SETTINGS.follow_refresh_s,
    )
    for difference in report.differences:  # refusals were logged by the follower as they happened
        logger.warning("venue and book differ", extra={"difference": difference})
    metrics.add_metric(name="VenueStreamUpdates", unit=MetricUnit.Count, value=report.updates)
    metrics.add_metric(name="VenueStreamFillsBooked", unit=MetricUnit.Count, value=report.fills_booked)
    metrics.add_metric(name="VenueStreamReconnects", unit=MetricUnit.Count, value=report.reconnects)
    metrics.add_metric(name="VenueStreamRefused", unit=MetricUnit.Count, value=len(report.refused))
    metrics.add_metric(name="VenueDifferences", unit=MetricUnit.Count, value=len(report.differences))
    return {
        "accounts": report.accounts,
        "updates": report.updates,
        "fills_booked": report.fills_booked,
        "ended": report.ended,
        "reconnects": report.reconnects,
        "refused": len(report.refused),
        "differences": len(report.differences),
    }
