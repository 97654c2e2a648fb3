"""Donchian breakout: long on a close above the highest high of the last `entry` bars, short (or flat) on a close
below their lowest low; a long exits to flat on a close below the lowest low of the last `exit` bars, a short on
a close above their highest high. The channels exclude the bar being judged."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from tp_strategy.builtin.base import DIRECTION, StrictParams, want
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
        p = self.params
        hi, lo = extreme_value(state["entry_hi"]), extreme_value(state["entry_lo"])
        if hi is None or lo is None:
            return None
        if close > hi:
            return want(state, 1, f"close {{}} above the {p.entry}-bar high {{}}", close, hi)
        if close < lo:
            return want(state, -1, f"close {{}} below the {p.entry}-bar low {{}}", close, lo)
        held = state[DIRECTION]
        exit_lo, exit_hi = extreme_value(state["exit_lo"]), extreme_value(state["exit_hi"])
        if held == 1 and exit_lo is not None and close < exit_lo:
            return want(state, 0, f"close {{}} below the {p.exit}-bar low {{}}: exit long", close, exit_lo)
        if held == -1 and exit_hi is not None and close > exit_hi:
            return want(state, 0, f"close {{}} above the {p.exit}-bar high {{}}: exit short", close, exit_hi)
        return None
