"""Request and response bodies of the backtest and sweep routes (money Decimal, times UTC)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from tp_strategy.api.models import Body, StrategyType, Symbol, Timeframe
from tp_strategy.sizing import SizingRule as Sizing

MAX_BACKTEST_SPAN_DAYS = 3660
Bps = Annotated[Decimal, Field(ge=0, le=1000)]


class BacktestRequest(Body):
    """A backtest over stored bars: a strategy id (its type, parameters, sizing and shorting), or a type
    and parameters given here. Costs as the paper venue charges them: `commission_bps` per side (basis
    points of notional), `fixed_fee` per order, `slippage_bps` against market orders."""

    account_id: uuid.UUID | None = Field(default=None, description="Needed when the credential is not bound to one")
    strategy_id: uuid.UUID | None = None
    type: StrategyType | None = None
    params: dict[str, Any] | None = None
    symbol: Symbol
    timeframe: Timeframe = "1m"
    start: datetime
    end: datetime
    cash: Annotated[Decimal, Field(gt=0, le=Decimal("1e12"))] = Decimal(100_000)
    commission_bps: Bps = Decimal(0)
    fixed_fee: Annotated[Decimal, Field(ge=0, le=10_000)] = Decimal(0)
    slippage_bps: Bps = Decimal(0)
    fill_at: Literal["next_open", "close"] = "next_open"
    allow_short: bool | None = Field(default=None, description="Default: the strategy's, else long only")
    sizing: Sizing | None = Field(default=None, description="Default: the strategy's, else all cash")

    @model_validator(mode="after")
    def _one_strategy_and_a_window(self) -> BacktestRequest:
        if (self.strategy_id is None) == (self.type is None):
            raise ValueError("give either strategy_id or type (with params), not both")
        if self.strategy_id is not None and self.params is not None:
            raise ValueError("params come from the strategy when strategy_id is given")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a time zone (UTC)")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.end - self.start).days > MAX_BACKTEST_SPAN_DAYS:
            raise ValueError(f"the window may span at most {MAX_BACKTEST_SPAN_DAYS} days")
        return self


class BacktestSpec(BaseModel):
    """What a backtest job runs, fully resolved (stored with the job, so a rerun is the same run):
    the strategy, the stored bars, and the engine's own config (`tp_strategy.backtest.BacktestConfig`)."""

    type: str
    params: dict[str, Any]
    symbol: str
    timeframe: str
    start: datetime
    end: datetime
    config: dict[str, Any]
    strategy_id: uuid.UUID | None = None


JobStatus = Literal["queued", "running", "succeeded", "failed"]


class BacktestView(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    status: JobStatus
    request: BacktestSpec
    result: dict[str, Any] | None = Field(default=None, description="metrics, equity curve and trades")
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


GridValue = bool | int | float | str
RankBy = Literal[
    "sharpe",
    "sortino",
    "total_return_pct",
    "cagr_pct",
    "final_equity",
    "win_rate_pct",
    "avg_trade",
    "max_drawdown_pct",
    "volatility_pct",
]
MAX_SWEEP_CELLS = 10_000


class SweepRequest(Body):
    """A parameter grid over one backtest: every combination of the grid's values (over the base
    parameters) is one cell, backtested on its own; cells are ranked by `rank_by`."""

    base: BacktestRequest
    grid: Annotated[
        dict[
            Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")],
            Annotated[list[GridValue], Field(min_length=1, max_length=1000)],
        ],
        Field(min_length=1, max_length=10),
    ]
    rank_by: RankBy = "sharpe"


class SweepCellResult(BaseModel):
    rank: int
    cell: int
    params: dict[str, Any]
    metrics: dict[str, Any]


class SweepView(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    status: JobStatus
    cells: int
    completed: int
    rank_by: RankBy
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    results: list[SweepCellResult] = Field(description="Ranked, best first")
