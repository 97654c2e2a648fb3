"""GET /v1/strategies/{strategy_id}/fills: the fills its signals caused (by their client order ids)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query
from tp_strategy import activity
from tp_strategy.api.activity_models import FillList
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER
from tp_strategy.api.responses import NOT_FOUND
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads strategy.signals and trading.fills (the replica when configured)."""


SETTINGS = load_settings(Settings)
app = new_app()


@app.get("/v1/strategies/{strategy_id}/fills", response_model=FillList, responses=NOT_FOUND)
def strategy_fills(strategy_id: uuid.UUID, who: CALLER, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> FillList:
    return FillList(fills=activity.list_fills(who, strategy_id, limit))


handler = lambda_handler(app, SETTINGS)
