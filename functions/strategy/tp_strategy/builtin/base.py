"""What the built-in strategies share: strict parameter models and "answer only when the wanted position changes"."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tp_strategy.interface import Direction, State, Target

DIRECTION = "direction"  # every built-in keeps the position it last asked for under this state key


class StrictParams(BaseModel):
    """Unknown keys are refused (a typo would otherwise silently run the default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def want(state: State, direction: Direction, reason: str, *values: float) -> Target | None:
    """Record the wanted direction; a Target only when it differs from the last one asked for.

    The reason is a template whose `{}` take `values` (floats shown short): it is formatted only when
    the direction changes, which keeps the every-bar path free of string work.
    """
    if state[DIRECTION] == direction:
        return None
    state[DIRECTION] = direction
    return Target(direction, reason.format(*(fmt(v) for v in values)) if values else reason)


def fmt(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")
