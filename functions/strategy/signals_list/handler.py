"""GET /v1/strategies/{strategy_id}/signals: the strategy's signals, newest bar first."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query
from tp_strategy import activity
from tp_strategy.api.activity_models import SignalList
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER
from tp_strategy.api.responses import NOT_FOUND
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads strategy.signals (the replica when configured: signals tolerate lag)."""


SETTINGS = load_settings(Settings)
app = new_app()


@app.get("/v1/strategies/{strategy_id}/signals", response_model=SignalList, responses=NOT_FOUND)
def signals_list(
    strategy_id: uuid.UUID,
    who: CALLER,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: datetime | None = None,
) -> SignalList:
    return SignalList(signals=activity.list_signals(who, strategy_id, limit, before))


handler = lambda_handler(app, SETTINGS)
