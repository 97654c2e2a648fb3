"""The per-principal token bucket on a book route, through the real authorizer, Redis and Postgres."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from support.core_api import Trader

pytestmark = pytest.mark.integration


def redis_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def test_book_route_answers_with_the_default_limit_headers(trader: Trader) -> None:
    reply = trader.api.get("/v2/positions", headers=trader.key)
    assert reply.status == 200
    # The account's own bucket (the user's bearer calls that set it up spent the user's bucket, not this one).
    assert reply.headers["x-ratelimit-limit"] == "200" and reply.headers["x-ratelimit-remaining"] == "199"


def test_book_route_refuses_past_200_per_minute_with_429(core_env: dict[str, Any], trader: Trader) -> None:
    rds = redis.Redis.from_url(core_env["redis_url"])
    started, allowed, refused = redis_ms(rds), 0, None
    for _ in range(400):
        reply = trader.api.get("/v2/orders", headers=trader.key, query={"status": "all"})
        if reply.status == 429:
            refused = reply
            break
        assert reply.status == 200, reply.body
        allowed += 1
    elapsed_ms = redis_ms(rds) - started
    assert refused is not None, "400 requests in a row were all allowed"
    # 200 tokens, plus what refilled (200 per 60 s, on Redis's clock) while the loop ran.
    assert 200 <= allowed <= 200 + elapsed_ms * 200 // 60_000 + 1
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["x-ratelimit-limit"] == "200" and refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["retry-after"] == "1"  # one token comes back every 0.3 s
    assert int(refused.headers["x-ratelimit-reset"]) * 1000 >= redis_ms(rds)
    assert refused.body["code"] == 42910000 and refused.body["status"] == 429 and refused.body["message"]


def test_one_accounts_limit_does_not_touch_another(core_env: dict[str, Any], trader: Trader, other: Trader) -> None:
    rds = redis.Redis.from_url(core_env["redis_url"])
    bucket = f"rl:api:acct:{trader.account_id}"
    rds.hset(bucket, mapping={"tokens": "0", "ts": str(redis_ms(rds))})  # as if it had just spent its minute
    assert trader.api.get("/v2/account", headers=trader.key).status == 429
    assert other.api.get("/v2/account", headers=other.key).status == 200
