"""Moving-average crossover: long while the fast average is above the slow one, short (or flat) while below."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from tp_strategy.builtin.base import DIRECTION, StrictParams, fmt, want
from tp_strategy.indicators import ema_state, ema_update, sma_update, window_state
from tp_strategy.interface import BarInput, State, Target

# An EMA never forgets; after 10 x its period the bars left out weigh less than e^-20 of it, so a
# state rebuilt from `warmup` bars decides exactly like one that ran since the start.
EMA_WARMUP_FACTOR = 10


class MaCrossoverParams(StrictParams):
    fast: int = Field(10, ge=1, le=10_000, description="period of the fast average, in bars")
    slow: int = Field(30, ge=2, le=10_000, description="period of the slow average, in bars")
    kind: Literal["sma", "ema"] = Field("sma", description="simple or exponential averages")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> MaCrossoverParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be less than slow ({self.slow})")
        return self


class MaCrossover:
    type_name: ClassVar[str] = "ma_crossover"
    Params: ClassVar[type[MaCrossoverParams]] = MaCrossoverParams

    def __init__(self, params: MaCrossoverParams) -> None:
        self.params = params
        self._ema = params.kind == "ema"
        self._names = (f"{params.kind}({params.fast})", f"{params.kind}({params.slow})")

    @property
    def warmup(self) -> int:
        return self.params.slow * (EMA_WARMUP_FACTOR if self._ema else 1)

    def initial_state(self) -> State:
        p = self.params
        if self._ema:
            return {DIRECTION: 0, "fast": ema_state(p.fast), "slow": ema_state(p.slow)}
        return {DIRECTION: 0, "fast": window_state(p.fast), "slow": window_state(p.slow)}

    def on_bar(self, state: State, bar: BarInput) -> Target | None:
        x = float(bar.close)
        update = ema_update if self._ema else sma_update
        fast = update(state["fast"], x)
        slow = update(state["slow"], x)
        if fast is None or slow is None or fast == slow:
            return None
        if fast > slow:
            return want(state, 1, f"{self._names[0]} {fmt(fast)} above {self._names[1]} {fmt(slow)}")
        return want(state, -1, f"{self._names[0]} {fmt(fast)} below {self._names[1]} {fmt(slow)}")
