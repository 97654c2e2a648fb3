"""The enabled strategies of a symbol and timeframe, read from `strategy.strategies` and kept briefly.

The runner asks for every bar; the answer changes only when someone enables, disables or
edits a strategy, so each (symbol, timeframe) is read at most once per `ttl_s` per container.
That bounds how long a disabled strategy may still trade: `ttl_s` (5 s by default).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg import Connection


@dataclass(frozen=True)
class EnabledStrategy:
    """What the runner needs of one strategy row."""

    id: uuid.UUID
    account_id: uuid.UUID
    type: str
    params: dict[str, Any]
    timeframe: str
    sizing: dict[str, Any]
    allow_short: bool
    version: int  # bumped by every update: working state is kept per version (new params, new state)


_ENABLED_SQL = """
select id, account_id, type, params, timeframe, sizing, allow_short, version
  from strategy.strategies
 where enabled and deleted_at is null and symbols @> array[%s]::text[] and timeframe = %s
 order by id"""


def load_enabled(conn: Connection[Any], symbol: str, timeframe: str) -> list[EnabledStrategy]:
    """The enabled, undeleted strategies trading `symbol` on `timeframe` bars, in id order."""
    rows = conn.execute(_ENABLED_SQL, (symbol, timeframe)).fetchall()
    return [
        EnabledStrategy(
            r["id"],
            r["account_id"],
            r["type"],
            dict(r["params"]),
            r["timeframe"],
            dict(r["sizing"]),
            bool(r["allow_short"]),
            int(r["version"]),
        )
        for r in rows
    ]


Loader = Callable[[str, str], list[EnabledStrategy]]


class EnabledCache:
    """`load(symbol, timeframe)` remembered for `ttl_s` seconds per key."""

    def __init__(self, load: Loader, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._load, self.ttl_s, self._clock = load, ttl_s, clock
        self._entries: dict[tuple[str, str], tuple[float, list[EnabledStrategy]]] = {}

    def get(self, symbol: str, timeframe: str) -> list[EnabledStrategy]:
        now = self._clock()
        hit = self._entries.get((symbol, timeframe))
        if hit is not None and hit[0] > now:
            return hit[1]
        found = self._load(symbol, timeframe)
        if len(self._entries) > 5_000:  # many symbols: start over rather than grow without bound
            self._entries.clear()
        self._entries[(symbol, timeframe)] = (now + self.ttl_s, found)
        return found
