"""Scheduled: expires day orders whose session has closed (exchange calendar; 24/7 assets are skipped) and
executes held `opg`/`cls` paper orders at their session's opening or closing auction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_execution.auctions import XnysSessions, run_auctions
from tp_execution.config import PaperVenueSettings
from tp_execution.expiry import expire_day_orders, xnys_last_close
from tradeplane.latest_price import last_price
from tradeplane.observability import instrument, metrics
from tradeplane.settings import KafkaSettings, PostgresSettings, RedisSettings, load_settings


class Settings(PostgresSettings, KafkaSettings, RedisSettings, PaperVenueSettings):
    """Expires day orders and works auction orders (reads `px:`); produces orders.events."""


SETTINGS = load_settings(Settings)
SESSIONS = XnysSessions()


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    now = datetime.fromisoformat(event["time"].replace("Z", "+00:00")) if event.get("time") else datetime.now(UTC)
    result = expire_day_orders(now, xnys_last_close)
    auctions = run_auctions(now, SESSIONS, last_price, SETTINGS.fill_config())
    metrics.add_metric(name="OrdersExpired", unit=MetricUnit.Count, value=result.expired)
    metrics.add_metric(name="AuctionOrdersFilled", unit=MetricUnit.Count, value=auctions.filled)
    return {
        "expired": result.expired,
        "auction_filled": auctions.filled,
        "auction_canceled": auctions.canceled,
        "auction_rejected": auctions.rejected,
    }
