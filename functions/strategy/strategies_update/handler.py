"""PATCH /v1/strategies/{strategy_id}: change some fields (parameters re-checked; `expected_version` guards)."""

from __future__ import annotations

import uuid

from tp_strategy import authoring
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER
from tp_strategy.api.models import StrategyUpdate, StrategyView
from tp_strategy.api.responses import CONFLICT, NOT_FOUND
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Writes strategy.strategies."""


SETTINGS = load_settings(Settings)
app = new_app()


@app.patch("/v1/strategies/{strategy_id}", response_model=StrategyView, responses={**NOT_FOUND, **CONFLICT})
def strategies_update(strategy_id: uuid.UUID, body: StrategyUpdate, who: CALLER) -> StrategyView:
    return authoring.update_strategy(who, strategy_id, body)


handler = lambda_handler(app, SETTINGS)
