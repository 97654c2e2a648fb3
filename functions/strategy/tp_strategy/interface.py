"""What a strategy is: the one contract the live runner and the backtester both drive.

A strategy sees one closed bar at a time, in time order, and its own working state, and
answers with the position it wants (long, flat or short) or nothing. It never sees a later
bar: the runner and the backtester feed bars one by one, so no strategy can look ahead.

State is a plain JSON-able dict so the live runner can keep it in Redis (`strat:` keys) and
rebuild it by replaying the last `warmup` stored bars when Redis has lost it. Indicator maths
uses floats (they decide signals, not money); prices that become money stay Decimal in the
fill model. Sizing (how many shares a target means) is not the strategy's business: the runner
and the backtester size a target the same way (see `sizing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel

Direction = Literal[1, 0, -1]  # long, flat, short
State = dict[str, Any]


@dataclass(frozen=True, slots=True)
class BarInput:
    """One closed bar as a strategy sees it."""

    symbol: str
    ts: datetime  # bucket start, UTC
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class Target:
    """The position a strategy wants after this bar, and why (stored with the signal)."""

    direction: Direction
    reason: str


class Strategy(Protocol):
    """A strategy type. `Params` validates its parameters (a clear 4xx on bad ones)."""

    type_name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]

    def __init__(self, params: BaseModel) -> None: ...

    @property
    def warmup(self) -> int:
        """How many past bars rebuild the state from nothing."""
        ...

    def initial_state(self) -> State: ...

    def on_bar(self, state: State, bar: BarInput) -> Target | None:
        """Update `state` in place with `bar`; return a target when the wanted position changes."""
        ...
