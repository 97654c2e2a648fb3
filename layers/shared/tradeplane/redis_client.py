"""Redis: one lazily created client per container, and namespaced keys.

Redis is a cache and coordinator only (latest prices, rate-limit buckets,
idempotency records, rebuildable strategy state); every key is namespaced and
should carry a TTL.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Literal

from tradeplane.settings import RedisSettings, settings_for

if TYPE_CHECKING:
    import redis

__all__ = ["Namespace", "client", "close_client", "key"]

Namespace = Literal["px", "rl", "idem", "strat", "ws", "venue"]
_NAMESPACES: frozenset[str] = frozenset({"px", "rl", "idem", "strat", "ws", "venue"})

_client: redis.Redis | None = None
_lock = threading.Lock()


def key(namespace: Namespace, *parts: object) -> str:
    """`key("px", "AAPL") == "px:AAPL"`; parts may not be empty or contain ':'-only noise."""
    if namespace not in _NAMESPACES:
        raise ValueError(f"unknown cache namespace {namespace!r}; expected one of {sorted(_NAMESPACES)}")
    if not parts:
        raise ValueError("a cache key needs at least one part after the namespace")
    texts = [str(p) for p in parts]
    if any(t == "" for t in texts):
        raise ValueError("cache key parts must not be empty")
    return ":".join([namespace, *texts])


def _auth_token(secret_id: str, max_age: int = 300) -> str:
    """The Redis AUTH token from a secret holding either the bare token or JSON with a token field."""
    from aws_lambda_powertools.utilities.parameters import get_secret

    text = str(get_secret(secret_id, max_age=max_age))
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        for field in ("auth_token", "authToken", "token", "password"):
            if isinstance(data.get(field), str):
                return str(data[field])
        raise ValueError(f"secret {secret_id} holds JSON without an auth_token/token/password field")
    return text


def _build_client() -> redis.Redis:
    import redis

    settings = settings_for(RedisSettings)
    url = settings.redis_url
    extra: dict[str, str] = {}
    if settings.redis_auth_secret_id:
        extra["password"] = _auth_token(settings.redis_auth_secret_id, settings.redis_secret_max_age_s)
    return redis.Redis.from_url(
        url,
        **extra,
        decode_responses=False,
        socket_timeout=settings.redis_socket_timeout_s,
        socket_connect_timeout=settings.redis_socket_timeout_s,
        health_check_interval=30,
        retry_on_timeout=True,
    )


def client() -> redis.Redis:
    """The container's Redis client (built on first call; connections are made lazily by redis-py)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = _build_client()
    return _client


def close_client() -> None:
    """Drop the client (tests); the next `client()` builds a new one."""
    global _client
    with _lock:
        client, _client = _client, None
    if client is not None:
        client.close()
