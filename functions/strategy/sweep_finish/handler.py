"""The `sweep` state machine's last step: marks the sweep succeeded or failed (its results rank on read)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel
from tp_strategy import sweeps
from tradeplane.observability import instrument
from tradeplane.settings import PostgresSettings, load_settings


class Settings(PostgresSettings):
    """Writes strategy.sweeps."""


class SweepOutcome(BaseModel):
    sweep_id: uuid.UUID
    outcome: Literal["succeeded", "failed"]
    error: str | None = None


SETTINGS = load_settings(Settings)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    done = SweepOutcome.model_validate(event)
    sweeps.finish_sweep(done.sweep_id, done.outcome, done.error)
    return {"sweep_id": str(done.sweep_id), "outcome": done.outcome}
