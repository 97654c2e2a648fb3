"""The backtester's fast path: a strategy that can decide a whole series at once.

A strategy may offer `signals(prices) -> [(bar index, Target), ...]`: every bar where driving `on_bar`
bar by bar from `initial_state()` would answer a Target, with that same Target (reason included). The
built-ins do (a plain loop over float columns with the same float operations in the same order as
`on_bar`, or for the SMA crossover's sums numpy's sequential `add.accumulate` fed in that order; proven
equal by a property test), so the backtester skips a per-bar call, a state dict and
a Decimal conversion per field. A strategy without it is driven bar by bar; the live runner always is.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from tp_strategy.interface import BarInput, Strategy, Target

if TYPE_CHECKING:
    import numpy as np

Signals = list[tuple[int, Target]]


class Prices:
    """Float columns of a bar series, each converted once and only when a strategy asks for it
    (`float(bar.close)` is what `on_bar` computes, so the values are the same)."""

    def __init__(self, bars: Sequence[BarInput]) -> None:
        self.bars = bars

    @cached_property
    def close(self) -> list[float]:
        return [float(b.close) for b in self.bars]

    @cached_property
    def close_array(self) -> np.ndarray:
        """`close` as a numpy array (for vectorised strategies and the engine's float curve). numpy is
        imported here, not with the module: the live runner imports the strategies, has no numpy in its
        layers and never calls the fast path."""
        import numpy as np

        return np.asarray(self.close, dtype=np.float64)

    @cached_property
    def high(self) -> list[float]:
        return [float(b.high) for b in self.bars]

    @cached_property
    def low(self) -> list[float]:
        return [float(b.low) for b in self.bars]


@runtime_checkable
class FastSignals(Protocol):
    def signals(self, prices: Prices) -> Signals:
        """The Targets `on_bar` would answer over the whole series, by bar index."""
        ...


def signals_by_bar(strategy: Strategy, bars: Sequence[BarInput]) -> Signals:
    """The reference the fast path must equal: `on_bar` bar by bar from the initial state."""
    state = strategy.initial_state()
    on_bar = strategy.on_bar
    return [(i, t) for i, bar in enumerate(bars) if (t := on_bar(state, bar)) is not None]
