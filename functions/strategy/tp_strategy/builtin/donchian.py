"""Donchian breakout: long on a close above the highest high of the last `entry` bars, short (or flat) on a close
below their lowest low; a long exits to flat on a close below the lowest low of the last `exit` bars, a short on
a close above their highest high. The channels exclude the bar being judged."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import ClassVar

from pydantic import Field, model_validator

from tp_strategy.builtin.base import DIRECTION, StrictParams, want
from tp_strategy.fast_path import Prices, Signals
from tp_strategy.indicators import extreme_push, extreme_state, extreme_value
from tp_strategy.interface import BarInput, State, Target


class DonchianParams(StrictParams):
    entry: int = Field(20, ge=1, le=10_000, description="entry channel lookback, in bars")
    exit: int = Field(10, ge=1, le=10_000, description="exit channel lookback, in bars")

    @model_validator(mode="after")
    def _exit_within_entry(self) -> DonchianParams:
        if self.exit > self.entry:
            raise ValueError(f"exit ({self.exit}) must not exceed entry ({self.entry})")
        return self


class DonchianBreakout:
    type_name: ClassVar[str] = "donchian_breakout"
    Params: ClassVar[type[DonchianParams]] = DonchianParams

    def __init__(self, params: DonchianParams) -> None:
        self.params = params

    @property
    def warmup(self) -> int:
        return self.params.entry

    def initial_state(self) -> State:
        p = self.params
        return {
            DIRECTION: 0,
            "entry_hi": extreme_state(p.entry, "max"),
            "entry_lo": extreme_state(p.entry, "min"),
            "exit_hi": extreme_state(p.exit, "max"),
            "exit_lo": extreme_state(p.exit, "min"),
        }

    def on_bar(self, state: State, bar: BarInput) -> Target | None:
        target = self._decide(state, float(bar.close))
        high, low = float(bar.high), float(bar.low)
        extreme_push(state["entry_hi"], high)
        extreme_push(state["entry_lo"], low)
        extreme_push(state["exit_hi"], high)
        extreme_push(state["exit_lo"], low)
        return target

    def _decide(self, state: State, close: float) -> Target | None:
        hi, lo = extreme_value(state["entry_hi"]), extreme_value(state["entry_lo"])
        if hi is None or lo is None:
            return None
        return self._judge(state, close, hi, lo, extreme_value(state["exit_lo"]), extreme_value(state["exit_hi"]))

    def signals(self, prices: Prices) -> Signals:
        """`on_bar` over the whole series (the backtester's fast path); the channels exclude the bar judged."""
        p = self.params
        closes, entry_hi, entry_lo = prices.close, rolling(prices.high, p.entry, max), rolling(prices.low, p.entry, min)
        exit_hi, exit_lo = rolling(prices.high, p.exit, max), rolling(prices.low, p.exit, min)
        state: State = {DIRECTION: 0}
        out: Signals = []
        for t in range(p.entry, len(closes)):  # exit <= entry: both channels exist from bar `entry` on
            target = self._judge(state, closes[t], entry_hi[t], entry_lo[t], exit_lo[t], exit_hi[t])
            if target is not None:
                out.append((t, target))
        return out

    def _judge(
        self, state: State, close: float, hi: float, lo: float, exit_lo: float | None, exit_hi: float | None
    ) -> Target | None:
        p = self.params
        if close > hi:
            return want(state, 1, f"close {{}} above the {p.entry}-bar high {{}}", close, hi)
        if close < lo:
            return want(state, -1, f"close {{}} below the {p.entry}-bar low {{}}", close, lo)
        held = state[DIRECTION]
        if held == 1 and exit_lo is not None and close < exit_lo:
            return want(state, 0, f"close {{}} below the {p.exit}-bar low {{}}: exit long", close, exit_lo)
        if held == -1 and exit_hi is not None and close > exit_hi:
            return want(state, 0, f"close {{}} above the {p.exit}-bar high {{}}: exit short", close, exit_hi)
        return None


def rolling(values: list[float], n: int, pick: Callable[[float, float], float]) -> list[float]:
    """`out[t]` = the extreme (max or min) of `values[t-n:t]` (exact: extremes do not round), for t >= n.

    A monotonic deque of indices: each value enters and leaves it once.
    """
    out = [0.0] * len(values)
    window: deque[int] = deque()
    for t, x in enumerate(values):
        if t >= n:
            out[t] = values[window[0]]
        while window and pick(values[window[-1]], x) == x:
            window.pop()
        window.append(t)
        if window[0] <= t - n:
            window.popleft()
    return out
