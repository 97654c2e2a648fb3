"""The ETL's request models. Event payloads (ticks, bars) are contracts in `tradeplane.contracts.market`."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from tradeplane.contracts.market import Tick

MAX_TICKS_PER_REQUEST = 1000


class TickBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", description="feed name")]
    ticks: Annotated[list[Tick], Field(min_length=1, max_length=MAX_TICKS_PER_REQUEST)]
