"""DELETE /v1/strategies/{strategy_id}: stop and remove a strategy (its signals and P&L stay readable)."""

from __future__ import annotations

import uuid

from fastapi import Response
from tp_strategy import catalog
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER
from tp_strategy.api.responses import NOT_FOUND
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Writes strategy.strategies."""


SETTINGS = load_settings(Settings)
app = new_app()


@app.delete("/v1/strategies/{strategy_id}", status_code=204, response_class=Response, responses=NOT_FOUND)
def strategies_delete(strategy_id: uuid.UUID, who: CALLER) -> Response:
    catalog.delete_strategy(who, strategy_id)
    return Response(status_code=204)


handler = lambda_handler(app, SETTINGS)
