"""POST /v1/strategies: a strategy bound to an account and symbols, its parameters checked by its type.

Idempotent by name: a retry with the same definition answers 200 with the stored strategy and
`Idempotent-Replayed: true`; the same name with another definition is 409.
"""

from __future__ import annotations

from fastapi import Response
from tp_strategy import authoring
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER
from tp_strategy.api.models import StrategyCreate, StrategyView
from tp_strategy.api.responses import CONFLICT, mark_replayed, replayed
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Writes strategy.strategies."""


SETTINGS = load_settings(Settings)
app = new_app()


@app.post(
    "/v1/strategies", status_code=201, response_model=StrategyView, responses={**replayed(StrategyView), **CONFLICT}
)
def strategies_create(body: StrategyCreate, who: CALLER, response: Response) -> StrategyView:
    created = authoring.create_strategy(who, body)
    mark_replayed(response, created.replayed)
    return created.strategy


handler = lambda_handler(app, SETTINGS)
