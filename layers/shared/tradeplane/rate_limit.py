"""Per-principal rate limiting for HTTP routes: a Redis token bucket as a Powertools resolver middleware.

The authorizer's answers are cached by API Gateway and it cannot answer 429, so
the limit is enforced here, in every route's shared middleware:

    app.use([rate_limiter(RateLimit(per_minute=200))])

Each principal (the account its credential is bound to, else its subject, else
the source IP of an anonymous caller) has a bucket `rl:<bucket>:<principal>`
holding up to `per_minute` tokens, refilled continuously over a minute, as
Alpaca's 200 requests per minute. Taking a token is one Lua script (atomic in
Redis, with Redis's own clock, so Lambda containers never disagree on time);
the key's TTL is the time a full refill takes, so an idle bucket disappears.

Every answer carries `X-Ratelimit-Limit`, `X-Ratelimit-Remaining` and
`X-Ratelimit-Reset` (epoch seconds when the bucket is full again); a refusal is
a 429 problem with `Retry-After`. When Redis cannot be reached the request is
allowed (fail open) with a logged warning, and Redis is not asked again for a
few seconds: Redis is a cache, never a gate on trading, and API Gateway's own
throttling still bounds the load.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tradeplane.problems import too_many_requests

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

__all__ = ["Decision", "RateLimit", "principal_key", "rate_limiter", "take_token"]

# KEYS[1] bucket key; ARGV[1] capacity, ARGV[2] full-refill time in ms.
# Returns {allowed (0/1), whole tokens left, ms until one token, ms until full, Redis time in ms}.
_BUCKET_SCRIPT = """
local capacity = tonumber(ARGV[1])
local refill_ms = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
local rate = capacity / refill_ms
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], refill_ms)
local wait_ms = 0
if allowed == 0 then wait_ms = math.ceil((1 - tokens) / rate) end
return {allowed, math.floor(tokens), wait_ms, math.ceil((capacity - tokens) / rate), now}
"""

_BACKOFF_S = 5.0  # after a Redis failure, allow without asking Redis for this long


@dataclass(frozen=True)
class RateLimit:
    per_minute: int = 200
    bucket: str = "api"  # functions with their own limit use their own bucket name

    def __post_init__(self) -> None:
        if self.per_minute < 1:
            raise ValueError("per_minute must be at least 1")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: float
    reset_epoch_s: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Ratelimit-Limit": str(self.limit),
            "X-Ratelimit-Remaining": str(self.remaining),
            "X-Ratelimit-Reset": str(self.reset_epoch_s),
        }


def principal_key(authorizer: Mapping[str, Any] | None, source_ip: str | None) -> str:
    """Whom the bucket belongs to: the bound account, else the subject, else the anonymous caller's IP."""
    ctx = authorizer or {}
    for field, prefix in (("account_id", "acct"), ("sub", "sub")):
        value = ctx.get(field)
        if isinstance(value, str) and value:
            return f"{prefix}:{value}"
    return f"ip:{source_ip or 'unknown'}"


def take_token(redis_client: Any, limit: RateLimit, principal: str) -> Decision:
    """Take one token from `principal`'s bucket (atomically, in Redis)."""
    from tradeplane.redis_client import key

    allowed, remaining, wait_ms, full_ms, now_ms = redis_client.eval(
        _BUCKET_SCRIPT, 1, key("rl", limit.bucket, principal), limit.per_minute, 60_000
    )
    return Decision(
        allowed=bool(allowed),
        limit=limit.per_minute,
        remaining=int(remaining),
        retry_after_s=int(wait_ms) / 1000,
        reset_epoch_s=math.ceil((int(now_ms) + int(full_ms)) / 1000),
    )


class _Breaker:
    """Remembers a Redis failure for a few seconds so a Redis outage does not slow every request."""

    def __init__(self) -> None:
        self._open_until = 0.0
        self._lock = threading.Lock()

    def closed(self) -> bool:
        return time.monotonic() >= self._open_until

    def trip(self) -> None:
        with self._lock:
            self._open_until = time.monotonic() + _BACKOFF_S


def rate_limiter(
    limit: RateLimit, redis_factory: Callable[[], Any] | None = None
) -> Callable[[APIGatewayHttpResolver, NextMiddleware], Response[Any]]:
    """A Powertools middleware enforcing `limit` per principal (see the module doc)."""
    from redis.exceptions import RedisError

    from tradeplane.observability import logger
    from tradeplane.redis_client import client as container_client

    redis_of: Callable[[], Any] = redis_factory or container_client
    breaker = _Breaker()

    def decide(app: APIGatewayHttpResolver) -> Decision | None:
        if not breaker.closed():
            return None
        ctx = app.current_event.request_context
        who = principal_key(ctx.authorizer.get_lambda, ctx.http.source_ip)
        try:
            return take_token(redis_of(), limit, who)
        except RedisError as exc:
            breaker.trip()
            logger.warning("rate limit not enforced: redis unavailable", extra={"error": type(exc).__name__})
            return None

    def middleware(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        decision = decide(app)
        if decision is not None and not decision.allowed:
            raise too_many_requests(decision.retry_after_s, headers=decision.headers())
        response = next_middleware(app)
        if decision is not None:
            response.headers.update(decision.headers())
        return response

    middleware.rate_limit = limit  # type: ignore[attr-defined]  # what a resolver enforces, for tests and tools
    return middleware
