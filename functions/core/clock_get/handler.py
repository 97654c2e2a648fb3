"""GET /v2/clock: whether the US equity market is open now, and its next open and close (Alpaca's Clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.market_calendar import Clock, Sessions
from tradeplane.http_api import api_resolver
from tradeplane.http_guard import resolve
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import RateLimitSettings, load_settings


class Settings(RateLimitSettings):
    """No database: the calendar comes from the exchange_calendars layer; Redis for the rate limit."""


SETTINGS = load_settings(Settings)
SESSIONS = Sessions.xnys()  # at init: the calendar library (and pandas) load once per container

app = api_resolver(SETTINGS, alpaca=True)


@app.get("/v2/clock", summary="Market clock", tags=["calendar"])
def get_clock() -> Clock:
    return SESSIONS.clock(datetime.now(UTC))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
