"""The latest trade price per symbol, from Redis (`px:<SYMBOL>`, kept by the ETL's bar aggregator).

Read by the Core API (risk checks, valuations) and by execution (the paper venue's market price).
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from typing import Any


def last_price(symbol: str) -> Decimal | None:
    """The latest price, or None when unknown or Redis is unreachable (Redis is a cache, never required)."""
    import redis

    from tradeplane.contracts.market import latest_price_key
    from tradeplane.redis_client import client

    try:
        raw = client().hget(latest_price_key(symbol), "p")
    except redis.RedisError:
        return None
    return _parse(raw)


def last_prices(symbols: Collection[str]) -> dict[str, Decimal | None]:
    """`last_price` of many symbols in one Redis round trip (a pipeline): a batch reads each symbol once."""
    import redis

    from tradeplane.contracts.market import latest_price_key
    from tradeplane.redis_client import client

    ordered = sorted(set(symbols))
    if not ordered:
        return {}
    try:
        pipe = client().pipeline(transaction=False)
        for symbol in ordered:
            pipe.hget(latest_price_key(symbol), "p")
        raws = pipe.execute()
    except redis.RedisError:
        return dict.fromkeys(ordered)
    return {symbol: _parse(raw) for symbol, raw in zip(ordered, raws, strict=True)}


def _parse(raw: Any) -> Decimal | None:
    if raw is None:
        return None
    try:
        price = Decimal(raw.decode() if isinstance(raw, bytes) else str(raw))
    except (InvalidOperation, UnicodeDecodeError):
        return None
    return price if price.is_finite() and price > 0 else None
