"""RSI mean reversion: long when RSI (Wilder) falls below `oversold`, short (or flat) above `overbought`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from tp_strategy.builtin.base import DIRECTION, StrictParams, want
from tp_strategy.fast_path import Prices, Signals
from tp_strategy.indicators import rsi_state, rsi_update
from tp_strategy.interface import BarInput, State, Target

# Wilder smoothing forgets with (1 - 1/n) per bar; after 20 x n bars what is left out weighs < e^-20.
WILDER_WARMUP_FACTOR = 20


class RsiReversionParams(StrictParams):
    period: int = Field(14, ge=2, le=1_000, description="RSI period, in bars (Wilder smoothing)")
    oversold: float = Field(30.0, gt=0, lt=100, description="go long when RSI is below this")
    overbought: float = Field(70.0, gt=0, lt=100, description="go short (or flat) when RSI is above this")

    @model_validator(mode="after")
    def _levels_ordered(self) -> RsiReversionParams:
        if self.oversold >= self.overbought:
            raise ValueError(f"oversold ({self.oversold}) must be less than overbought ({self.overbought})")
        return self


class RsiReversion:
    type_name: ClassVar[str] = "rsi_reversion"
    Params: ClassVar[type[RsiReversionParams]] = RsiReversionParams

    def __init__(self, params: RsiReversionParams) -> None:
        self.params = params

    @property
    def warmup(self) -> int:
        return (self.params.period + 1) * WILDER_WARMUP_FACTOR

    def initial_state(self) -> State:
        return {DIRECTION: 0, "rsi": rsi_state(self.params.period)}

    def on_bar(self, state: State, bar: BarInput) -> Target | None:
        rsi = rsi_update(state["rsi"], float(bar.close))
        return None if rsi is None else self._decide(state, rsi)

    def signals(self, prices: Prices) -> Signals:
        """`on_bar` over the whole series (the backtester's fast path): `rsi_update`'s operations, in its order."""
        closes = prices.close
        n = self.params.period
        state: State = {DIRECTION: 0}
        out: Signals = []
        gain = loss = 0.0
        for t in range(1, len(closes)):
            change = closes[t] - closes[t - 1]
            up, down = (change, 0.0) if change > 0 else (0.0, -change)
            if t <= n:
                gain += up / n
                loss += down / n
                if t < n:
                    continue
            else:
                gain = (gain * (n - 1) + up) / n
                loss = (loss * (n - 1) + down) / n
            rsi = (100.0 if gain > 0 else 50.0) if loss == 0 else 100.0 - 100.0 / (1.0 + gain / loss)
            if (target := self._decide(state, rsi)) is not None:
                out.append((t, target))
        return out

    def _decide(self, state: State, rsi: float) -> Target | None:
        p = self.params
        if rsi < p.oversold:
            return want(state, 1, f"rsi({p.period}) {{}} below {{}}", rsi, p.oversold)
        if rsi > p.overbought:
            return want(state, -1, f"rsi({p.period}) {{}} above {{}}", rsi, p.overbought)
        return None
