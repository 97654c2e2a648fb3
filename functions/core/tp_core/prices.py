"""The latest trade price per symbol, from Redis (`px:<symbol>`, kept by the ETL's bar aggregator)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def last_price(symbol: str) -> Decimal | None:
    """The latest price, or None when unknown or Redis is unreachable (Redis is a cache, never required)."""
    import redis
    from tradeplane.redis_client import client, key

    try:
        raw = client().get(key("px", symbol))
    except redis.RedisError:
        return None
    if raw is None:
        return None
    try:
        price = Decimal(raw.decode() if isinstance(raw, bytes) else str(raw))
    except (InvalidOperation, UnicodeDecodeError):
        return None
    return price if price.is_finite() and price > 0 else None
