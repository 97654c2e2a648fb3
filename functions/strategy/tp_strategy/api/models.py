"""Request and response bodies of the strategy catalog routes, and the field types every strategy route shares
(money and quantities Decimal, times UTC).

The bodies of the other routes are in `activity_models` (signals, orders, fills, P&L) and `job_models`
(backtests, sweeps): a route function imports the models of its own route only (init time).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tp_strategy.sizing import SizingRule as Sizing

Symbol = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9.\-/]{0,15}$", description="Upper-case ticker")]
Timeframe = Literal["1m", "5m", "15m", "30m", "1h", "1d"]
StrategyType = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z_][A-Za-z0-9_.]*(:[A-Za-z_][A-Za-z0-9_]*)?$",
        description='A built-in type name or "package.module:Class"',
    ),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


Symbols = Annotated[list[Symbol], Field(min_length=1, max_length=100)]


class StrategyCreate(Body):
    account_id: uuid.UUID | None = Field(default=None, description="Needed when the credential is not bound to one")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    type: StrategyType
    params: dict[str, Any] = Field(default_factory=dict)
    symbols: Symbols
    timeframe: Timeframe = "1m"
    sizing: Sizing
    allow_short: bool = False
    enabled: bool = False


class StrategyUpdate(Body):
    """Only the fields given change; `params` is validated against the (new or current) type."""

    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    type: StrategyType | None = None
    params: dict[str, Any] | None = None
    symbols: Symbols | None = None
    timeframe: Timeframe | None = None
    sizing: Sizing | None = None
    allow_short: bool | None = None
    expected_version: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Refuse (409) unless the strategy is still at this version"
    )


class StrategyView(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    name: str
    type: str
    params: dict[str, Any]
    symbols: list[str]
    timeframe: str
    sizing: dict[str, Any]
    allow_short: bool
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime


class StrategyList(BaseModel):
    strategies: list[StrategyView]
