"""The `sweep` state machine's map item: backtests one cell of a sweep and stores its metrics once."""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field
from tp_strategy import sweeps
from tradeplane.observability import instrument, logger
from tradeplane.settings import PostgresSettings, load_settings


class Settings(PostgresSettings):
    """Reads strategy.sweeps and stored bars; writes strategy.sweep_results."""


class SweepCell(BaseModel):
    sweep_id: uuid.UUID
    cell: int = Field(ge=0)


SETTINGS = load_settings(Settings)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = SweepCell.model_validate(event)
    logger.append_keys(sweep_id=str(item.sweep_id), cell=item.cell)
    return {"cell": item.cell, "status": sweeps.run_cell(item.sweep_id, item.cell)}
