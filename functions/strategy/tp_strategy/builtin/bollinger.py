"""Bollinger band reversion: long on a close below the lower band (mean - k x std of `period` closes), short (or
flat) on a close above the upper band; a long exits to flat when the close gets back to the mean, a short too."""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field

from tp_strategy.builtin.base import DIRECTION, StrictParams, want
from tp_strategy.fast_path import Prices, Signals
from tp_strategy.indicators import mean_std, window_push, window_state
from tp_strategy.interface import BarInput, State, Target


class BollingerParams(StrictParams):
    period: int = Field(20, ge=2, le=10_000, description="window of closes, in bars")
    k: float = Field(2.0, gt=0, le=10, description="band width in population standard deviations")


class BollingerReversion:
    type_name: ClassVar[str] = "bollinger_reversion"
    Params: ClassVar[type[BollingerParams]] = BollingerParams

    def __init__(self, params: BollingerParams) -> None:
        self.params = params

    @property
    def warmup(self) -> int:
        return self.params.period

    def initial_state(self) -> State:
        return {DIRECTION: 0, "w": window_state(self.params.period)}

    def on_bar(self, state: State, bar: BarInput) -> Target | None:
        close = float(bar.close)
        if not window_push(state["w"], close):
            return None
        mean, std = mean_std(state["w"])
        return self._decide(state, close, mean, std)

    def signals(self, prices: Prices) -> Signals:
        """`on_bar` over the whole series (the backtester's fast path): `window_push` and `mean_std`'s operations."""
        closes = prices.close
        n = self.params.period
        state: State = {DIRECTION: 0}
        out: Signals = []
        total = squares = 0.0
        for t, close in enumerate(closes):
            if t >= n:
                old = closes[t - n]
                total -= old
                squares -= old * old
            total += close
            squares += close * close
            if t < n - 1:
                continue
            mean = total / n
            var = squares / n - mean * mean
            if (target := self._decide(state, close, mean, math.sqrt(var) if var > 0 else 0.0)) is not None:
                out.append((t, target))
        return out

    def _decide(self, state: State, close: float, mean: float, std: float) -> Target | None:
        p = self.params
        lower, upper = mean - p.k * std, mean + p.k * std
        if close < lower:
            return want(state, 1, "close {} below the lower band {}", close, lower)
        if close > upper:
            return want(state, -1, "close {} above the upper band {}", close, upper)
        held = state[DIRECTION]
        if held == 1 and close >= mean:
            return want(state, 0, "close {} back to the mean {}: exit long", close, mean)
        if held == -1 and close <= mean:
            return want(state, 0, "close {} back to the mean {}: exit short", close, mean)
        return None
