"""GET /v1/strategies: the caller's live strategies, optionally of one account, enabled state or symbol."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query
from tp_strategy import catalog
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER
from tp_strategy.api.models import StrategyList, Symbol
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads strategy.strategies."""


SETTINGS = load_settings(Settings)
app = new_app()


@app.get("/v1/strategies", response_model=StrategyList)
def strategies_list(
    who: CALLER,
    account_id: uuid.UUID | None = None,
    enabled: bool | None = None,
    symbol: Annotated[Symbol | None, Query()] = None,
) -> StrategyList:
    return StrategyList(strategies=catalog.list_strategies(who, account_id, enabled, symbol))


handler = lambda_handler(app, SETTINGS)
