"""Scheduled: drop ops.logs day partitions older than TP_LOG_RETENTION_DAYS; create the next days' ahead."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field
from tp_logging.retention import apply_retention
from tradeplane import db
from tradeplane.observability import instrument, logger
from tradeplane.settings import PostgresSettings, load_settings


class Settings(PostgresSettings):
    """Drops and creates partitions of ops.logs on the primary."""

    log_retention_days: int = Field(default=14, ge=1, le=3650)


SETTINGS = load_settings(Settings)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with db.transaction() as conn:
        result = apply_retention(conn, SETTINGS.log_retention_days)
    logger.info("log retention applied", extra={"dropped": [str(d) for d in result.dropped]})
    return {"dropped": [str(d) for d in result.dropped], "created": [str(d) for d in result.created]}
