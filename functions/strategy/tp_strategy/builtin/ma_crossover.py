"""Moving-average crossover: long while the fast average is above the slow one, short (or flat) while below."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from tp_strategy.builtin.base import DIRECTION, StrictParams, want
from tp_strategy.fast_path import Prices, Signals
from tp_strategy.indicators import ema_state, ema_update
from tp_strategy.interface import BarInput, Direction, State, Target

if TYPE_CHECKING:  # numpy only on the backtester's fast path (the live runner has none in its layers)
    import numpy as np

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
        self._fast, self._slow = params.fast, params.slow
        self._names = (f"{params.kind}({params.fast})", f"{params.kind}({params.slow})")

    @property
    def warmup(self) -> int:
        return self.params.slow * (EMA_WARMUP_FACTOR if self._ema else 1)

    def initial_state(self) -> State:
        p = self.params
        if self._ema:
            return {DIRECTION: 0, "fast": ema_state(p.fast), "slow": ema_state(p.slow)}
        # one ring buffer of the last `slow` closes serves both sums: the fast window is its newest part
        return {DIRECTION: 0, "buf": [], "i": 0, "fast_sum": 0.0, "slow_sum": 0.0}

    def on_bar(self, state: State, bar: BarInput) -> Target | None:
        x = float(bar.close)
        if self._ema:
            fast, slow = ema_update(state["fast"], x), ema_update(state["slow"], x)
            return None if fast is None or slow is None else self._decide(state, fast, slow)
        # SMA, the backtest benchmark's hot path, inline: both sums from one ring buffer of `slow` closes
        buf: list[float] = state["buf"]
        n = self._slow
        if len(buf) < n:
            return self._filling(state, buf, x)
        i = state["i"]
        fast_sum = state["fast_sum"] + x - buf[i - self._fast]  # the close `fast` bars back (negative index wraps)
        slow_sum = state["slow_sum"] + x - buf[i]  # the oldest close, overwritten now
        buf[i] = x
        state["i"] = i + 1 if i + 1 < n else 0
        state["fast_sum"], state["slow_sum"] = fast_sum, slow_sum
        fast, slow = fast_sum / self._fast, slow_sum / n
        if fast > slow:
            return None if state[DIRECTION] == 1 else self._decide(state, fast, slow)
        if fast < slow:
            return None if state[DIRECTION] == -1 else self._decide(state, fast, slow)
        return None

    def _filling(self, state: State, buf: list[float], x: float) -> Target | None:
        """Until `slow` closes are in, the buffer is in time order (oldest first) and grows."""
        k = self._fast
        buf.append(x)
        state["fast_sum"] += x - (buf[-k - 1] if len(buf) > k else 0.0)
        state["slow_sum"] += x
        if len(buf) < self._slow:
            return None
        return self._decide(state, state["fast_sum"] / k, state["slow_sum"] / self._slow)

    def signals(self, prices: Prices) -> Signals:
        """`on_bar` over the whole series (the backtester's fast path): the same float operations in the same order."""
        if self._ema:
            return self._changes(self._ema_averages(prices.close))
        return self._changes(self._sma_averages(prices.close_array))

    def _changes(self, averages: Iterable[tuple[int, float, float]]) -> Signals:
        state: State = {DIRECTION: 0}
        out: Signals = []
        held = 0
        for t, fast, slow in averages:
            if (fast > slow and held != 1) or (fast < slow and held != -1):
                target = self._decide(state, fast, slow)
                if target is not None:
                    out.append((t, target))
                    held = target.direction
        return out

    def _sma_averages(self, closes: Sequence[float] | np.ndarray) -> list[tuple[int, float, float]]:
        """Only the bars where the order of the averages differs from the bar before (or is the first one)
        can change the direction, so only those are handed on.

        The running sums round exactly as `on_bar`'s: each is a sequence of float additions, in `on_bar`'s
        order, which `np.add.accumulate` performs one after the other (no pairwise summation), so every
        partial sum is the same double. `on_bar` first grows the sums (`+=` of the difference, the fast sum
        taking off the close `fast` bars back), then adds the new close and takes off the one leaving.
        """
        import numpy as np

        k, n, count = self._fast, self._slow, len(closes)
        if count < n:
            return []
        x = np.asarray(closes, dtype=np.float64)
        slow_sums = _running_sums(x[:n], x[n:], x[: count - n])
        # the filling phase adds `x - (close k back)` as one difference; from bar n on, `+ x - close k back`
        fast_growth = np.concatenate((x[:k], x[k:n] - x[: n - k]))
        fast_sums = _running_sums(fast_growth, x[n:], x[n - k : count - k])
        fast, slow = fast_sums / k, slow_sums / n
        order = (fast > slow).astype(np.int8) - (fast < slow).astype(np.int8)
        changed = np.flatnonzero(order[1:] != order[:-1]) + 1
        ts = np.concatenate(([0], changed))
        return list(zip((ts + n - 1).tolist(), fast[ts].tolist(), slow[ts].tolist(), strict=True))

    def _ema_averages(self, closes: list[float]) -> Iterator[tuple[int, float, float]]:
        """As `ema_update`: seeded with the mean of the first `n` closes, then `value += alpha * (x - value)`."""
        k, n = self._fast, self._slow
        fast_alpha, slow_alpha = 2.0 / (k + 1), 2.0 / (n + 1)
        fast_seed = slow_seed = fast = slow = 0.0
        for t, x in enumerate(closes):
            if t < k:
                fast_seed += x
                if t == k - 1:
                    fast = fast_seed / k
            else:
                fast += fast_alpha * (x - fast)
            if t < n:
                slow_seed += x
                if t < n - 1:
                    continue
                slow = slow_seed / n
            else:
                slow += slow_alpha * (x - slow)
            yield t, fast, slow

    def _decide(self, state: State, fast: float, slow: float) -> Target | None:
        if fast == slow:
            return None
        direction: Direction = 1 if fast > slow else -1
        where = "above" if direction == 1 else "below"
        return want(state, direction, f"{self._names[0]} {{}} {where} {self._names[1]} {{}}", fast, slow)


def _running_sums(growth: np.ndarray, added: np.ndarray, leaving: np.ndarray) -> np.ndarray:
    """The sum after each bar from bar `len(growth) - 1` on: first the growing sums of `growth`, then per bar
    `(sum + added) - leaving`, every step rounded as the sequential float loop rounds it."""
    import numpy as np

    steps = np.empty(len(growth) + 2 * len(added))
    steps[: len(growth)] = growth
    steps[len(growth) :: 2] = added
    steps[len(growth) + 1 :: 2] = -leaving  # a negated double is exact: sum - x == sum + (-x)
    sums = np.add.accumulate(steps)
    return np.concatenate((sums[len(growth) - 1 : len(growth)], sums[len(growth) + 1 :: 2]))
