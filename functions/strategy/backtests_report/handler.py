"""GET /v1/backtests/{backtest_id}/report: the HTML report (equity and drawdown charts) of a finished job."""

from __future__ import annotations

import uuid

from fastapi.responses import HTMLResponse
from tp_strategy import backtest_jobs
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER
from tp_strategy.api.responses import CONFLICT, NOT_FOUND
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads strategy.backtests."""


SETTINGS = load_settings(Settings)
app = new_app()


@app.get("/v1/backtests/{backtest_id}/report", response_class=HTMLResponse, responses={**NOT_FOUND, **CONFLICT})
def backtests_report(backtest_id: uuid.UUID, who: CALLER) -> HTMLResponse:
    return HTMLResponse(backtest_jobs.report(who, backtest_id), headers={"Cache-Control": "no-store"})


handler = lambda_handler(app, SETTINGS)
