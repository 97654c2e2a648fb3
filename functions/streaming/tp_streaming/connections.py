"""WebSocket connections and their subscriptions in Redis (`ws:` keys, each with a TTL refreshed on activity).

Per connection (hash-tagged `{cid}` so one connection's keys share a cluster slot):
- `ws:conn:{cid}`  hash: `state` (`open` -> `authed` -> `live` | `replaying`), `account_id`, `streams`;
  `connected_ms` and `sub` (who authenticated) are written for whoever inspects the key, never read here
- `ws:sent:{cid}`  sorted set: event ids already delivered (score = ms), trimmed to `DEDUPE_WINDOW_MS`
- `ws:pending:{cid}` list: live events (`<event id> <frame>`) that arrived while the connection was replaying
and per account `ws:acct:{account_id}`: the connections listening to `trade_updates`.

Redis is never the only copy of an event: the book's outbox is (replay reads it), so
losing Redis loses subscriptions (clients reconnect), never a fill.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from tradeplane import redis_client

# API Gateway closes an idle connection after 10 minutes and any connection after 2 hours;
# a key outlives the idle limit and is refreshed by every message and every delivery.
TTL_S: Final = 15 * 60
DEDUPE_WINDOW_MS: Final = 2 * 3600 * 1000  # a connection's whole lifetime in AWS
DRAIN_BATCH: Final = 100

Verdict = Literal["send", "dup", "buffered", "skip", "gone"]

# Decide one live event for one connection, atomically against a replay's drain.
_ROUTE = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'gone' end
if state == 'replaying' then
  redis.call('RPUSH', KEYS[3], ARGV[1] .. ' ' .. ARGV[4])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
  return 'buffered'
end
if state ~= 'live' then return 'skip' end
if redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1]) == 0 then return 'dup' end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2] - ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 'send'
"""
# The seam between replay and live: hand out what was buffered; when nothing is left, go live in the
# same step, so an event is either buffered (and drained) or routed live, never neither.
_DRAIN = """
local items = redis.call('LRANGE', KEYS[2], 0, ARGV[1] - 1)
if #items == 0 then
  if redis.call('HGET', KEYS[1], 'state') == 'replaying' then redis.call('HSET', KEYS[1], 'state', 'live') end
  return items
end
redis.call('LTRIM', KEYS[2], #items, -1)
return items
"""


def _conn(cid: str) -> str:
    return redis_client.key("ws", "conn", "{" + cid + "}")


def _sent(cid: str) -> str:
    return redis_client.key("ws", "sent", "{" + cid + "}")


def _pending(cid: str) -> str:
    return redis_client.key("ws", "pending", "{" + cid + "}")


def _account(account_id: str) -> str:
    return redis_client.key("ws", "acct", "{" + account_id + "}")


@dataclass(frozen=True)
class Connection:
    connection_id: str
    state: str
    account_id: str | None
    streams: tuple[str, ...]


def _now_ms() -> int:
    return int(time.time() * 1000)


def open_connection(cid: str) -> None:
    r = redis_client.client()
    with r.pipeline() as p:
        p.hset(_conn(cid), mapping={"state": "open", "connected_ms": _now_ms()})
        p.expire(_conn(cid), TTL_S)
        p.execute()


def get(cid: str) -> Connection | None:
    r = redis_client.client()
    with r.pipeline() as p:
        p.hgetall(_conn(cid))
        p.expire(_conn(cid), TTL_S)
        raw, _ = p.execute()
    if not raw:
        return None
    fields = {_text(k): _text(v) for k, v in raw.items()}
    streams = tuple(s for s in fields.get("streams", "").split(",") if s)
    return Connection(cid, fields.get("state", "open"), fields.get("account_id") or None, streams)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def authenticate(cid: str, account_id: str, subject: str) -> None:
    """Bind the connection to its account."""
    r = redis_client.client()
    with r.pipeline() as p:
        p.hset(_conn(cid), mapping={"state": "authed", "account_id": account_id, "sub": subject})
        p.expire(_conn(cid), TTL_S)
        p.execute()


def listen(conn: Connection, streams: Sequence[str], *, replaying: bool) -> None:
    """Replace the connection's streams; while `replaying`, live events are buffered for the drain."""
    assert conn.account_id is not None
    cid, listening = conn.connection_id, "trade_updates" in streams
    state = ("replaying" if replaying else "live") if listening else "authed"
    r = redis_client.client()
    with r.pipeline() as p:
        p.hset(_conn(cid), mapping={"state": state, "streams": ",".join(streams)})
        p.expire(_conn(cid), TTL_S)
        if listening:
            p.sadd(_account(conn.account_id), cid)
            p.expire(_account(conn.account_id), TTL_S)
        else:
            p.srem(_account(conn.account_id), cid)
        if replaying:
            p.delete(_pending(cid))
        p.execute()


def remove(cid: str) -> None:
    """Forget the connection ($disconnect, or a 410 from the management API)."""
    r = redis_client.client()
    account = r.hget(_conn(cid), "account_id")
    with r.pipeline() as p:
        if account:
            p.srem(_account(_text(account)), cid)
        p.delete(_conn(cid), _sent(cid), _pending(cid))
        p.execute()


def listeners(account_ids: Sequence[str]) -> dict[str, list[str]]:
    """The connections listening to each account's trade updates."""
    r = redis_client.client()
    with r.pipeline() as p:
        for account in account_ids:
            p.smembers(_account(account))
        found = p.execute()
    return {a: sorted(_text(c) for c in members) for a, members in zip(account_ids, found, strict=True)}


def route(pairs: Sequence[tuple[str, str, bytes]]) -> list[Verdict]:
    """For each (connection, event id, frame): deliver it now, drop it (duplicate, not listening, gone) or
    buffer it (the connection is replaying). One round trip for the whole batch."""
    if not pairs:
        return []
    r = redis_client.client()
    script = r.register_script(_ROUTE)
    now = _now_ms()
    with r.pipeline(transaction=False) as p:
        for cid, event_id, frame in pairs:
            script(
                keys=[_conn(cid), _sent(cid), _pending(cid)],
                args=[event_id, now, TTL_S, frame, DEDUPE_WINDOW_MS],
                client=p,
            )
        return [_text(v) for v in p.execute()]  # type: ignore[misc]


def mark_sent(cid: str, event_ids: Sequence[str]) -> list[bool]:
    """Record deliveries made outside `route` (replay); True for each id not delivered before."""
    if not event_ids:
        return []
    r = redis_client.client()
    now = _now_ms()
    with r.pipeline(transaction=False) as p:
        for event_id in event_ids:
            p.zadd(_sent(cid), {event_id: now}, nx=True)
        p.expire(_sent(cid), TTL_S)
        added = p.execute()[:-1]
    return [bool(a) for a in added]


def drain(cid: str) -> list[tuple[str, bytes]]:
    """The next buffered (event id, frame) pairs; an empty list means the connection is live now."""
    r = redis_client.client()
    script = r.register_script(_DRAIN)
    items = script(keys=[_conn(cid), _pending(cid)], args=[DRAIN_BATCH])
    pairs = [(i if isinstance(i, bytes) else str(i).encode()).split(b" ", 1) for i in items]
    return [(event_id.decode(), frame) for event_id, frame in pairs]
