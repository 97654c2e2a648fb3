"""What a backtest is asked: money, costs, when market orders fill, shorts, sizing (a JSON-able request)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tp_strategy.sizing import SizingRule

FillAt = Literal["next_open", "close"]


class BacktestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cash: Decimal = Field(Decimal(100_000), gt=0, le=Decimal("1e12"), description="starting cash")
    commission_bps: Decimal = Field(Decimal(0), ge=0, le=1000, description="per side, basis points of notional")
    fixed_fee: Decimal = Field(Decimal(0), ge=0, le=10_000, description="per order, on top of the commission")
    slippage_bps: Decimal = Field(Decimal(0), ge=0, le=1000, description="market orders fill this much worse")
    fill_at: FillAt = Field("next_open", description="market orders fill at the next bar's open, or this close")
    allow_short: bool = False
    sizing: SizingRule = Field(default_factory=lambda: SizingRule(kind="all_cash"))
    periods_per_year: float | None = Field(
        None, gt=0, description="bars per year for annualising; inferred from the bar spacing when absent"
    )
