"""The latest trade price per symbol, from Redis (`px:<SYMBOL>`, kept by the ETL's bar aggregator).

Read by the Core API (risk checks, valuations) and by execution (the paper venue's market price).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def last_price(symbol: str) -> Decimal | None:
    """The latest price, or None when unknown or Redis is unreachable (Redis is a cache, never required)."""
    import redis

    from tradeplane.contracts.market import latest_price_key
    from tradeplane.redis_client import client

    try:
        raw = client().hget(latest_price_key(symbol), "p")
    except redis.RedisError:
        return None
    if raw is None:
        return None
    try:
        price = Decimal(raw.decode() if isinstance(raw, bytes) else str(raw))
    except (InvalidOperation, UnicodeDecodeError):
        return None
    return price if price.is_finite() and price > 0 else None
