"""The gateway's authorizer result cache: bounded, keyed by a hash, never past the token's `exp`."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from tradeplane_local.gateway import AuthorizerCache

TOKEN_BYTES = 60_000


class Clock:
    """A settable wall clock, so expiry is tested without sleeping."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def allow(exp: float, **context: Any) -> dict[str, Any]:
    return {"isAuthorized": True, "context": {"sub": "u1", "scope": "market-data:read", "exp": int(exp), **context}}


def test_memory_stays_flat_under_10000_distinct_large_tokens() -> None:
    clock = Clock()
    cache = AuthorizerCache(ttl_s=60, clock=clock)
    big = "t" * TOKEN_BYTES

    def fill(start: int, count: int) -> None:
        for i in range(start, start + count):
            identity = (f"Bearer {big}{i}",)
            cache.put(identity, allow(clock.now + 3600))
            assert cache.get(identity) is not None

    tracemalloc.start()
    try:
        fill(0, cache.max_entries)  # full: from here on every put evicts one
        gc.collect()
        baseline = tracemalloc.get_traced_memory()[0]
        fill(cache.max_entries, 10_000)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert len(cache) <= cache.max_entries
    assert 0 < cache.bytes <= cache.max_bytes
    # 10,000 tokens are 600 MB; a cache that kept them (or grew per entry) would show it here.
    assert grown < 256 * 1024, grown


def test_byte_bound_evicts_least_recently_used() -> None:
    clock = Clock()
    cache = AuthorizerCache(ttl_s=60, max_entries=1000, max_bytes=10_000, clock=clock)
    for i in range(100):
        cache.put((f"tok{i}",), allow(clock.now + 3600, blob="b" * 1000))
    assert cache.bytes <= 10_000
    assert cache.get(("tok99",)) is not None
    assert cache.get(("tok0",)) is None


def test_a_decision_larger_than_the_whole_cache_is_not_kept() -> None:
    clock = Clock()
    cache = AuthorizerCache(ttl_s=60, max_bytes=1000, clock=clock)
    cache.put(("tok",), allow(clock.now + 3600, blob="b" * 5000))
    assert cache.get(("tok",)) is None and cache.bytes == 0


def test_the_identity_is_kept_only_as_a_hash() -> None:
    cache = AuthorizerCache(ttl_s=60, clock=Clock())
    token = "Bearer secret-token-value"
    cache.put((token,), allow(Clock().now + 3600))
    assert AuthorizerCache.key((token,)) != token.encode()
    assert len(AuthorizerCache.key((token,))) == 32
    assert all(token not in repr(referent) for referent in gc.get_referents(cache.__dict__))


def test_a_cached_allow_never_outlives_the_tokens_exp() -> None:
    clock = Clock()
    cache = AuthorizerCache(ttl_s=60, clock=clock)
    cache.put(("tok",), allow(clock.now + 5))  # the token expires long before the TTL
    clock.now += 4.9
    assert cache.get(("tok",)) is not None
    clock.now += 0.1  # exp reached: JWT says "on or after exp: not accepted"
    assert cache.get(("tok",)) is None


def test_ttl_still_bounds_a_long_lived_token() -> None:
    clock = Clock()
    cache = AuthorizerCache(ttl_s=60, clock=clock)
    cache.put(("tok",), allow(clock.now + 86_400))
    clock.now += 59
    assert cache.get(("tok",)) is not None
    clock.now += 1
    assert cache.get(("tok",)) is None


def test_expired_or_unreadable_exp_is_not_cached() -> None:
    clock = Clock()
    cache = AuthorizerCache(ttl_s=60, clock=clock)
    cache.put(("old",), allow(clock.now - 1))
    cache.put(("odd",), {"isAuthorized": True, "context": {"exp": "soon"}})
    assert cache.get(("old",)) is None and cache.get(("odd",)) is None
    assert len(cache) == 0


def test_denials_are_not_cached() -> None:
    cache = AuthorizerCache(ttl_s=60, clock=Clock())
    cache.put(("bad",), {"isAuthorized": False})
    assert cache.get(("bad",)) is None and len(cache) == 0


def test_ttl_zero_disables_caching() -> None:
    clock = Clock()
    cache = AuthorizerCache(ttl_s=0, clock=clock)
    cache.put(("tok",), allow(clock.now + 3600))
    assert cache.get(("tok",)) is None
