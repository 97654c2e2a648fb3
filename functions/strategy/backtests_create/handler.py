"""POST /v1/backtests: queue a backtest over stored bars and start `backtest_worker` asynchronously.

202 with the queued job; a retry with the same `Idempotency-Key` answers 200 with the same job and
`Idempotent-Replayed: true`.
"""

from __future__ import annotations

import uuid

from fastapi import Response
from tp_strategy import backtest_jobs
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER, IDEMPOTENCY_KEY
from tp_strategy.api.job_models import BacktestRequest, BacktestView
from tp_strategy.api.responses import NOT_FOUND, UNAVAILABLE, mark_replayed, replayed
from tradeplane.aws_async import invoke_async
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Writes strategy.backtests; invokes backtest_worker (manifest `uses.invokes`)."""

    function_name_backtest_worker: str


SETTINGS = load_settings(Settings)
app = new_app()


def start_worker(backtest_id: uuid.UUID) -> None:
    invoke_async(SETTINGS.function_name_backtest_worker, {"backtest_id": str(backtest_id)})


@app.post(
    "/v1/backtests",
    status_code=202,
    response_model=BacktestView,
    responses={**replayed(BacktestView), **NOT_FOUND, **UNAVAILABLE},
)
def backtests_create(body: BacktestRequest, who: CALLER, key: IDEMPOTENCY_KEY, response: Response) -> BacktestView:
    queued = backtest_jobs.queue_backtest(who, body, key, start_worker)
    mark_replayed(response, queued.replayed)
    return queued.backtest


handler = lambda_handler(app, SETTINGS)
