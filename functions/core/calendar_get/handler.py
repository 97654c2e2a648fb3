"""GET /v2/calendar?start&end: NYSE trading days with open and close times (Alpaca's Calendar)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.market_calendar import CalendarDay, Day, Sessions
from tradeplane.http_api import api_resolver
from tradeplane.http_guard import resolve
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import RateLimitSettings, load_settings


class Settings(RateLimitSettings):
    """No database: the calendar comes from the exchange_calendars layer; Redis for the rate limit."""


SETTINGS = load_settings(Settings)
SESSIONS = Sessions.xnys()  # at init: the calendar library (and pandas) load once per container

app = api_resolver(SETTINGS, alpaca=True)


@app.get("/v2/calendar", summary="Trading calendar", tags=["calendar"])
def get_calendar(
    start: Annotated[Day | None, Query(description="First day (YYYY-MM-DD), inclusive")] = None,
    end: Annotated[Day | None, Query(description="Last day (YYYY-MM-DD), inclusive")] = None,
) -> list[CalendarDay]:
    return SESSIONS.between(start, end)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
