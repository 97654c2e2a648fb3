"""Keep the latest trade (`px:<SYMBOL>`) and quote (`qt:<SYMBOL>`) per symbol in Redis
(see tradeplane.contracts.market).

A late or redelivered tick never overwrites a newer one: the compare-and-set runs
in Redis as one script. Redis is a cache: a failure is logged and the batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Protocol, TypeVar

from tradeplane.contracts.market import LATEST_PRICE_TTL_S, Quote, Tick, latest_price_key, latest_quote_key

from tp_etl.rows import QuoteRow, TradeRow

# KEYS[1] = hash, ARGV[1] = time (epoch micros), ARGV[2] = TTL, ARGV[3..] = field, value pairs.
_NEWER_WINS = """
local t = redis.call('HGET', KEYS[1], 't')
if (not t) or tonumber(t) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 't', ARGV[1], unpack(ARGV, 3))
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


class _Timed(Protocol):
    @property
    def symbol(self) -> str: ...
    @property
    def ts(self) -> datetime: ...


T = TypeVar("T", bound=_Timed)


def latest_by_symbol(items: Iterable[T]) -> dict[str, T]:
    latest: dict[str, T] = {}
    for item in items:
        seen = latest.get(item.symbol)
        if seen is None or item.ts >= seen.ts:
            latest[item.symbol] = item
    return latest


def _trade_fields(tick: Tick | TradeRow) -> list[str]:
    return ["p", str(tick.price), "s", str(tick.size)]


def _quote_fields(quote: Quote | QuoteRow) -> list[str]:
    return ["bp", str(quote.bid), "bs", str(quote.bid_size), "ap", str(quote.ask), "as", str(quote.ask_size),
            "x", quote.venue or ""]  # fmt: skip


def _write(latest: Mapping[str, T], key_of: Callable[[str], str], fields_of: Callable[[T], list[str]]) -> int:
    import redis
    from tradeplane.observability import logger
    from tradeplane.redis_client import client

    if not latest:
        return 0
    try:
        script = client().register_script(_NEWER_WINS)
        pipe = client().pipeline(transaction=False)
        for symbol, item in latest.items():
            micros = int(item.ts.timestamp() * 1_000_000)
            script(keys=[key_of(symbol)], args=[micros, LATEST_PRICE_TTL_S, *fields_of(item)], client=pipe)
        pipe.execute()
    except redis.RedisError:
        logger.warning("latest prices not updated: Redis unavailable", extra={"symbols": len(latest)})
        return 0
    return len(latest)


def remember_latest(ticks: Iterable[Tick | TradeRow]) -> int:
    """Write each symbol's newest trade; returns how many symbols were written (0 if Redis is down)."""
    return _write(latest_by_symbol(ticks), latest_price_key, _trade_fields)


def remember_latest_quotes(quotes: Iterable[Quote | QuoteRow]) -> int:
    """Write each symbol's newest quote; returns how many symbols were written (0 if Redis is down)."""
    return _write(latest_by_symbol(quotes), latest_quote_key, _quote_fields)
