"""Invoked asynchronously by backtests_create: runs one queued backtest job (a repeat runs nothing)."""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel
from tp_strategy import backtest_jobs
from tradeplane.observability import instrument, logger
from tradeplane.settings import PostgresSettings, load_settings


class Settings(PostgresSettings):
    """Reads stored bars (market.bars) and writes strategy.backtests."""


class BacktestJob(BaseModel):
    backtest_id: uuid.UUID


SETTINGS = load_settings(Settings)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    job = BacktestJob.model_validate(event)
    logger.append_keys(backtest_id=str(job.backtest_id))
    return {"status": backtest_jobs.run_backtest(job.backtest_id)}
