"""The per-principal token bucket against the real Redis: limits, headers, refill, atomicity, fail-open."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from types import ModuleType

import pytest
import redis
from support.routes import call, load_handler
from tradeplane.rate_limit import RateLimit, principal_key, rate_limiter, take_token

pytestmark = pytest.mark.integration


@pytest.fixture
def rds(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def who() -> str:
    return f"sub:{uuid.uuid4().hex}"


def test_bucket_allows_its_capacity_then_refuses(rds: redis.Redis) -> None:
    limit, principal = RateLimit(per_minute=5, bucket="t"), who()
    decisions = [take_token(rds, limit, principal) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    refused = decisions[-1]
    # one token comes back every 60/5 = 12 s; the wait is never more than that
    assert 0 < refused.retry_after_s <= 12 and refused.limit == 5
    assert refused.headers()["X-Ratelimit-Remaining"] == "0"


def test_key_is_namespaced_and_expires(rds: redis.Redis) -> None:
    principal = who()
    take_token(rds, RateLimit(per_minute=10, bucket="t"), principal)
    ttl = rds.pttl(f"rl:t:{principal}")
    assert 0 < ttl <= 60_000


def test_bucket_refills_with_elapsed_time(rds: redis.Redis) -> None:
    limit, principal = RateLimit(per_minute=3, bucket="t"), who()
    for _ in range(3):
        take_token(rds, limit, principal)
    assert not take_token(rds, limit, principal).allowed
    # Pretend the last take was 40 s ago (Redis's clock is the one the script uses): 2 tokens are back.
    key = f"rl:t:{principal}"
    rds.hset(key, "ts", str(int(rds.hget(key, "ts") or 0) - 40_000))
    assert [take_token(rds, limit, principal).allowed for _ in range(3)] == [True, True, False]


def test_principals_and_buckets_are_separate(rds: redis.Redis) -> None:
    limit, a, b = RateLimit(per_minute=1, bucket="t"), who(), who()
    assert take_token(rds, limit, a).allowed and not take_token(rds, limit, a).allowed
    assert take_token(rds, limit, b).allowed
    assert take_token(rds, RateLimit(per_minute=1, bucket="other"), a).allowed


def test_concurrent_takes_never_exceed_the_capacity(rds: redis.Redis, redis_url: str) -> None:
    limit, principal, allowed = RateLimit(per_minute=50, bucket="t"), who(), []
    lock = threading.Lock()

    def worker() -> None:
        client = redis.Redis.from_url(redis_url)
        for _ in range(10):
            ok = take_token(client, limit, principal).allowed
            with lock:
                allowed.append(ok)
        client.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 80 and sum(allowed) == 50


def test_principal_key_prefers_account_then_subject_then_ip() -> None:
    assert principal_key({"account_id": "a1", "sub": "u1"}, "1.2.3.4") == "acct:a1"
    assert principal_key({"sub": "u1"}, "1.2.3.4") == "sub:u1"
    assert principal_key(None, "1.2.3.4") == "ip:1.2.3.4"


@pytest.fixture
def clock(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    from support.reset import reset_all

    env = {"TP_REDIS_URL": redis_url, "TP_RATE_LIMIT_PER_MINUTE": "2", "TP_RATE_LIMIT_BUCKET": "clock"}
    yield load_handler("clock_get", monkeypatch, env)
    reset_all()


def test_route_answers_429_with_alpaca_code_and_headers(clock: ModuleType) -> None:
    caller = {"sub": who(), "scope": ""}
    first, second, third = (call(clock, "GET /v2/clock", "/v2/clock", authorizer=caller) for _ in range(3))
    assert (first.status, second.status, third.status) == (200, 200, 429)
    assert first.headers["x-ratelimit-limit"] == "2" and first.headers["x-ratelimit-remaining"] == "1"
    assert int(first.headers["x-ratelimit-reset"]) > 0
    assert third.headers["content-type"] == "application/problem+json"
    assert 1 <= int(third.headers["retry-after"]) <= 30 and third.headers["x-ratelimit-remaining"] == "0"
    assert third.json()["code"] == 42910000 and third.json()["status"] == 429
    other = call(clock, "GET /v2/clock", "/v2/clock", authorizer={"sub": who(), "scope": ""})
    assert other.status == 200  # another principal has its own bucket


def test_redis_down_fails_open_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from support.routes import Answer
    from tradeplane_local import events

    calls = []

    def dead_redis() -> redis.Redis:
        calls.append(1)
        return redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)  # nothing listens on port 1

    app = APIGatewayHttpResolver(enable_validation=True)
    app.use([rate_limiter(RateLimit(per_minute=1), dead_redis)])
    app.get("/v2/ping")(lambda: {"ok": True})

    def ping() -> Answer:
        req = events.HttpRequest("GET", "/v2/ping", "", [], b"", "127.0.0.1")
        out = app.resolve(events.http_api_event(req, "GET /v2/ping", None, {"sub": "u"}), {})
        return Answer(out["statusCode"], out.get("headers", {}), out["body"])

    with caplog.at_level(logging.WARNING):
        answers = [ping() for _ in range(3)]
    assert [a.status for a in answers] == [200, 200, 200]
    assert "x-ratelimit-limit" not in {k.lower() for k in answers[0].headers}
    assert len(calls) == 1  # after a failure Redis is not asked again for a while
    assert "redis unavailable" in caplog.text
