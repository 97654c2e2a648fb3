"""GET /v1/strategies/{strategy_id}: one of the caller's strategies (another account's is 404)."""

from __future__ import annotations

import uuid

from tp_strategy import catalog
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER
from tp_strategy.api.models import StrategyView
from tp_strategy.api.responses import NOT_FOUND
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads strategy.strategies."""


SETTINGS = load_settings(Settings)
app = new_app()


@app.get("/v1/strategies/{strategy_id}", response_model=StrategyView, responses=NOT_FOUND)
def strategies_get(strategy_id: uuid.UUID, who: CALLER) -> StrategyView:
    return catalog.get_strategy(who, strategy_id)


handler = lambda_handler(app, SETTINGS)
