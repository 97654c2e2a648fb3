"""Bars and a user strategy for the strategy tests (the fixture strategy is loaded by module path)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def bars(
    closes: Sequence[float | str], *, spread: float = 1.0, step: timedelta = timedelta(days=1), symbol: str = "AAPL"
) -> list[Any]:
    """One bar per close: open = previous close, high/low = the body's extremes -/+ `spread`."""
    from tp_strategy.interface import BarInput

    out = []
    prev = Decimal(str(closes[0]))
    for i, c in enumerate(closes):
        close = Decimal(str(c))
        hi, lo = max(prev, close) + Decimal(str(spread)), min(prev, close) - Decimal(str(spread))
        out.append(BarInput(symbol, T0 + i * step, prev, hi, lo, close, Decimal(1000 + i)))
        prev = close
    return out


class EveryNParams(BaseModel):
    n: int = 2


class EveryN:
    """A user's strategy: flips between long and flat every `n` bars."""

    type_name: ClassVar[str] = "support.strategy_bars:EveryN"
    Params: ClassVar[type[BaseModel]] = EveryNParams

    def __init__(self, params: EveryNParams) -> None:
        self.n = params.n

    @property
    def warmup(self) -> int:
        return 0

    def initial_state(self) -> dict[str, Any]:
        return {"i": 0}

    def on_bar(self, state: dict[str, Any], bar: Any) -> Any:
        from tp_strategy.interface import Target

        state["i"] += 1
        if state["i"] % self.n == 0:
            return Target(1 if (state["i"] // self.n) % 2 else 0, f"bar {state['i']}")
        return None


class NotAStrategy:
    pass
