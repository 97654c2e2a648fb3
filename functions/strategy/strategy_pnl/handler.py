"""GET /v1/strategies/{strategy_id}/pnl: the strategy's realised and unrealised P&L from its own fills."""

from __future__ import annotations

import uuid

from tp_strategy import pnl
from tp_strategy.api.activity_models import PnlView
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER
from tp_strategy.api.responses import NOT_FOUND
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads fills and fees (the replica when configured) and `px:` prices from Redis."""


SETTINGS = load_settings(Settings)
app = new_app()


@app.get("/v1/strategies/{strategy_id}/pnl", response_model=PnlView, responses=NOT_FOUND)
def strategy_pnl(strategy_id: uuid.UUID, who: CALLER) -> PnlView:
    return pnl.strategy_pnl(who, strategy_id)


handler = lambda_handler(app, SETTINGS)
