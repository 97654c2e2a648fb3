"""GET /v1/sweeps/{sweep_id}: a sweep's status, progress and ranked results (best first)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query
from tp_strategy import sweeps
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER
from tp_strategy.api.job_models import SweepView
from tp_strategy.api.responses import NOT_FOUND
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads strategy.sweeps and strategy.sweep_results."""


SETTINGS = load_settings(Settings)
app = new_app()


@app.get("/v1/sweeps/{sweep_id}", response_model=SweepView, responses=NOT_FOUND)
def sweeps_get(sweep_id: uuid.UUID, who: CALLER, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> SweepView:
    return sweeps.get_sweep(who, sweep_id, limit)


handler = lambda_handler(app, SETTINGS)
