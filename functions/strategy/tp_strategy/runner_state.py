"""A strategy's working state per symbol in Redis (`strat:` keys with a TTL), rebuilt from stored bars.

Key: `strat:<strategy id>:v<version>:<symbol>`; value: JSON `{"last_ts": ..., "state": {...}}`,
where `last_ts` is the start of the last bar the state has seen. Redis is only a cache: when
the key is missing (flushed, expired, or a new version of the strategy), the state is rebuilt
by replaying the last `warmup` stored bars before the current one through a fresh state, the
targets of that replay dropped (they belong to bars already handled).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tp_strategy.interface import BarInput, State, Strategy

STATE_TTL_S = 7 * 24 * 3600  # a week: covers weekends and holidays; past that, a rebuild is cheap


@dataclass
class Working:
    """A strategy's state on one symbol and the start of the last bar folded into it."""

    state: State
    last_ts: datetime | None = None

    def seen(self, bucket_start: datetime) -> bool:
        """Whether the bar starting at `bucket_start` (or a later one) was already folded in."""
        return self.last_ts is not None and bucket_start <= self.last_ts

    def to_json(self) -> str:
        return json.dumps({"last_ts": self.last_ts.isoformat() if self.last_ts else None, "state": self.state})

    @classmethod
    def from_json(cls, raw: bytes | str) -> Working | None:
        """The stored state, or None when it is unreadable (then it is rebuilt, never trusted half-way)."""
        try:
            obj = json.loads(raw)
            last = obj["last_ts"]
            return cls(dict(obj["state"]), datetime.fromisoformat(last) if last else None)
        except (ValueError, KeyError, TypeError):
            return None


def state_key(strategy_id: object, version: int, symbol: str) -> str:
    from tradeplane.redis_client import key

    return key("strat", str(strategy_id), f"v{version}", symbol)


class RedisLike(Protocol):
    def mget(self, keys: Sequence[str]) -> list[Any]: ...

    def pipeline(self, transaction: bool = ...) -> Any: ...


class StateStore:
    """Many keys read in one MGET and written in one pipeline, each write renewing the TTL."""

    def __init__(self, client: Callable[[], RedisLike], ttl_s: int = STATE_TTL_S) -> None:
        self._client, self.ttl_s = client, ttl_s

    def load(self, keys: Sequence[str]) -> dict[str, Working | None]:
        if not keys:
            return {}
        raws = self._client().mget(list(keys))
        return {k: (Working.from_json(raw) if raw is not None else None) for k, raw in zip(keys, raws, strict=True)}

    def save(self, states: Mapping[str, Working]) -> None:
        if not states:
            return
        pipe = self._client().pipeline(transaction=False)
        for k, working in states.items():
            pipe.set(k, working.to_json(), ex=self.ttl_s)
        pipe.execute()


DIRECTION = "direction"  # where the built-ins keep the position they last asked for (tp_strategy.builtin.base)


def rebuild(strategy: Strategy, history: Iterable[BarInput], last_direction: int | None = None) -> Working:
    """A fresh state fed the stored bars before the current one, oldest first (their targets are dropped),
    then told the direction of the strategy's last stored signal.

    `warmup` bars restore the indicators, not the position a strategy holds: a reversion or breakout
    rule's direction depends on the whole path (strat-lib's rebuild contract, docs/strategies.md). The
    last signal is that position; without one the strategy never asked for any, so flat.
    """
    working = Working(strategy.initial_state())
    for bar in history:
        strategy.on_bar(working.state, bar)
        working.last_ts = bar.ts
    if DIRECTION in working.state:
        working.state[DIRECTION] = last_direction or 0
    return working
