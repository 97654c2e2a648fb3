"""Which invocation follows an account's broker stream (a Redis lease), and where its stream left off.

`venue:lease:{account}` holds the invocation's token with a short TTL that the holder renews
while it follows; a crashed or timed-out holder lets it lapse within the TTL, so the next
scheduled run takes over. Renewal and release compare the token (one script each), so a
holder whose lease lapsed and was taken never renews or deletes the new holder's lease.
`venue:cursor:{account}` is the last broker `event_id` booked (brokers with Tradeplane's replay
extension only): the next connection, in this run or the next, replays from it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from tradeplane import redis_client

_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
CURSOR_TTL_S = 3600  # older gaps are the reconciler's (a replay that long would be mostly settled orders)


@dataclass
class Leases:
    ttl_s: float = 15.0
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def _redis(self) -> Any:
        return redis_client.client()

    def take(self, account: UUID) -> bool:
        return bool(self._redis.set(_lease(account), self.token, nx=True, px=int(self.ttl_s * 1000)))

    def renew(self, account: UUID) -> bool:
        return bool(self._redis.eval(_RENEW, 1, _lease(account), self.token, int(self.ttl_s * 1000)))

    def release(self, account: UUID) -> None:
        self._redis.eval(_RELEASE, 1, _lease(account), self.token)

    def cursor(self, account: UUID) -> str | None:
        value = self._redis.get(_cursor(account))
        return value.decode() if isinstance(value, bytes) else value

    def advance(self, account: UUID, event_id: str) -> None:
        self._redis.set(_cursor(account), event_id, ex=CURSOR_TTL_S)

    def forget_cursor(self, account: UUID) -> None:
        self._redis.delete(_cursor(account))


def _lease(account: UUID) -> str:
    return redis_client.key("venue", "lease", str(account))


def _cursor(account: UUID) -> str:
    return redis_client.key("venue", "cursor", str(account))
