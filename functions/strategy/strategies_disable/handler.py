"""POST /v1/strategies/{strategy_id}/disable: the runner stops trading it on its next bar (a repeat changes nothing)."""

from __future__ import annotations

import uuid

from tp_strategy import catalog
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER
from tp_strategy.api.models import StrategyView
from tp_strategy.api.responses import NOT_FOUND
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Writes strategy.strategies."""


SETTINGS = load_settings(Settings)
app = new_app()


@app.post("/v1/strategies/{strategy_id}/disable", response_model=StrategyView, responses=NOT_FOUND)
def strategies_disable(strategy_id: uuid.UUID, who: CALLER) -> StrategyView:
    return catalog.set_enabled(who, strategy_id, enabled=False)


handler = lambda_handler(app, SETTINGS)
