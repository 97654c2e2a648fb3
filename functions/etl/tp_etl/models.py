"""The ETL's request models. Event payloads (ticks, bars) are contracts in `tradeplane.contracts.market`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from tradeplane.contracts.market import Tick

MAX_TICKS_PER_REQUEST = 1000
# Live ticks come from a clock that may run slightly ahead of ours; anything later is a bad timestamp.
MAX_CLOCK_SKEW = timedelta(minutes=5)


class TickBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", description="feed name")]
    ticks: Annotated[list[Tick], Field(min_length=1, max_length=MAX_TICKS_PER_REQUEST)]

    @field_validator("ticks")
    @classmethod
    def _not_in_the_future(cls, ticks: list[Tick]) -> list[Tick]:
        latest = datetime.now(UTC) + MAX_CLOCK_SKEW
        for i, tick in enumerate(ticks):
            if tick.ts > latest:
                raise ValueError(f"ticks[{i}].ts is more than {MAX_CLOCK_SKEW} in the future")
        return ticks
