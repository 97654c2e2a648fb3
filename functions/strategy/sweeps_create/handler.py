"""POST /v1/sweeps: a parameter grid over one backtest, fanned out by the `sweep` state machine.

202 with the running sweep; a retry with the same `Idempotency-Key` answers 200 with the same sweep
and `Idempotent-Replayed: true`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from tp_strategy import sweeps
from tp_strategy.api.app import lambda_handler, new_app
from tp_strategy.api.auth import CALLER, IDEMPOTENCY_KEY
from tp_strategy.api.job_models import SweepRequest, SweepView
from tp_strategy.api.responses import NOT_FOUND, UNAVAILABLE, mark_replayed, replayed
from tradeplane.aws_async import start_execution
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Writes strategy.sweeps; starts the `sweep` state machine (manifest `uses.starts`)."""

    state_machine_sweep: str


SETTINGS = load_settings(Settings)
app = new_app()


def start(execution_input: dict[str, Any], name: str) -> str:
    return start_execution(SETTINGS.state_machine_sweep, execution_input, name=name)


@app.post(
    "/v1/sweeps",
    status_code=202,
    response_model=SweepView,
    responses={**replayed(SweepView), **NOT_FOUND, **UNAVAILABLE},
)
def sweeps_create(body: SweepRequest, who: CALLER, key: IDEMPOTENCY_KEY, response: Response) -> SweepView:
    started = sweeps.start_sweep(who, body, key, start)
    mark_replayed(response, started.replayed)
    return started.sweep


handler = lambda_handler(app, SETTINGS)
