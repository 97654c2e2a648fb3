"""Telling an infrastructure outage from a bad record, and riding the outage out inside one invocation.

The event source (the MSK event source mapping, or the local one) retries a failed batch
`max_retries` times, then bisects it and dead-letters what still fails: it cannot tell a
poison record from a database that is down. So a consumer that must not dead-letter good
records during an outage retries outage errors itself, with backoff, for as long as its
invocation has time left; only then does the failure reach the source and count against
the budget. A record that fails for any other reason fails at once, as before.
An outage therefore costs one retry per function timeout (a time budget), a bad record one
retry per attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# SQLSTATEs of a server that is unreachable, restarting, overloaded or resolving a conflict: retrying the
# same work later succeeds. Class 08 is "connection exception"; 57P01-57P03 admin shutdown, crash shutdown,
# cannot connect now (starting up); 53 insufficient resources; and the lock conflicts below.
_TRANSIENT_CLASSES = ("08", "53")
# Serialization failure, deadlock: rolled back whole, so running the same work again is safe. Not all of
# class 40: 40002 (a deferred constraint failed at commit) fails again, 40003 may have committed.
LOCK_CONFLICT_STATES = frozenset({"40001", "40P01"})
_TRANSIENT_STATES = frozenset({"57P01", "57P02", "57P03"}) | LOCK_CONFLICT_STATES


def is_outage(error: BaseException) -> bool:
    """Whether `error` (or what caused it) is the infrastructure failing rather than the work being wrong."""
    import psycopg
    from psycopg_pool import PoolTimeout

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, PoolTimeout):
            return True
        if isinstance(current, psycopg.OperationalError):
            state = current.sqlstate
            # No SQLSTATE: the client could not reach or lost the server (refused, reset, timed out).
            if state is None or state.startswith(_TRANSIENT_CLASSES) or state in _TRANSIENT_STATES:
                return True
        current = current.__cause__ or current.__context__
    return False


def ride_out(
    work: Callable[[], T],
    remaining_ms: Callable[[], int],
    *,
    margin_s: float = 5.0,
    first_wait_s: float = 0.5,
    max_wait_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `work` (which must be safe to run again: idempotent); on an outage error wait and run it again
    while the invocation has more than `margin_s` left after the wait. Any other error propagates at once."""
    attempt = 0
    while True:
        try:
            return work()
        except Exception as error:
            if not is_outage(error):
                raise
            wait = min(first_wait_s * 2**attempt, max_wait_s)
            if remaining_ms() / 1000 - wait < margin_s:
                raise
            from tradeplane.observability import logger

            logger.warning("infrastructure unavailable; retrying", extra={"error": type(error).__name__,
                           "attempt": attempt + 1, "retry_in_s": wait})  # fmt: skip
            sleep(wait)
            attempt += 1
