"""GET /v1/backtests/{backtest_id}: a job's status and, once it succeeded, its metrics, equity curve and trades."""

from __future__ import annotations

import uuid

from tp_strategy import backtest_jobs
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER
from tp_strategy.api.job_models import BacktestView
from tp_strategy.api.responses import NOT_FOUND
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads strategy.backtests (the primary: clients poll right after they submit)."""


SETTINGS = load_settings(Settings)
app = new_app()


@app.get("/v1/backtests/{backtest_id}", response_model=BacktestView, responses=NOT_FOUND)
def backtests_get(backtest_id: uuid.UUID, who: CALLER) -> BacktestView:
    return backtest_jobs.get_backtest(who, backtest_id)


handler = lambda_handler(app, SETTINGS)
