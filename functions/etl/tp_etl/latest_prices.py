"""Keep the latest trade price per symbol in Redis (`px:<SYMBOL>`, see tradeplane.contracts.market).

A late or redelivered tick never overwrites a newer price: the compare-and-set runs
in Redis as one script. Redis is a cache: a failure is logged and the batch goes on.
"""

from __future__ import annotations

from collections.abc import Iterable

from tradeplane.contracts.market import LATEST_PRICE_TTL_S, Tick, latest_price_key

_NEWER_WINS = """
local t = redis.call('HGET', KEYS[1], 't')
if (not t) or tonumber(t) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'p', ARGV[1], 't', ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


def latest_by_symbol(ticks: Iterable[Tick]) -> dict[str, Tick]:
    latest: dict[str, Tick] = {}
    for tick in ticks:
        seen = latest.get(tick.symbol)
        if seen is None or tick.ts >= seen.ts:
            latest[tick.symbol] = tick
    return latest


def remember_latest(ticks: Iterable[Tick]) -> int:
    """Write each symbol's newest tick price; returns how many symbols were written (0 if Redis is down)."""
    import redis
    from tradeplane.observability import logger
    from tradeplane.redis_client import client

    latest = latest_by_symbol(ticks)
    if not latest:
        return 0
    try:
        script = client().register_script(_NEWER_WINS)
        pipe = client().pipeline(transaction=False)
        for symbol, tick in latest.items():
            micros = int(tick.ts.timestamp() * 1_000_000)
            script(keys=[latest_price_key(symbol)], args=[str(tick.price), micros, LATEST_PRICE_TTL_S], client=pipe)
        pipe.execute()
    except redis.RedisError:
        logger.warning("latest prices not updated: Redis unavailable", extra={"symbols": len(latest)})
        return 0
    return len(latest)
