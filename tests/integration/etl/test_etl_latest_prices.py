"""`px:<SYMBOL>` in the real Redis: the newest tick wins, late ticks never overwrite, the Core API reads it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.reset import reset_all
from tp_etl.latest_prices import remember_latest
from tradeplane.contracts.market import Tick

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TP_REDIS_URL", redis_url)
    reset_all()
    yield redis_url
    reset_all()


def tick(symbol: str, price: str, second: int) -> Tick:
    return Tick.model_validate({"symbol": symbol, "price": price, "size": "1", "ts": f"2026-11-24T10:00:{second:02d}Z"})


def test_newest_tick_wins_and_late_ticks_do_not_overwrite(redis_env: str) -> None:
    import redis

    assert remember_latest([tick("AAPL", "10", 5), tick("AAPL", "11", 9), tick("MSFT", "300", 1)]) == 2
    assert remember_latest([tick("AAPL", "9", 7)]) == 1  # late: older than the stored price
    r = redis.Redis.from_url(redis_env)
    assert r.hget("px:AAPL", "p") == b"11" and r.hget("px:MSFT", "p") == b"300"
    assert 0 < r.ttl("px:AAPL") <= 7 * 24 * 3600
    remember_latest([tick("AAPL", "12.5", 30)])
    assert r.hget("px:AAPL", "p") == b"12.5"


def test_redis_down_is_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("TP_REDIS_SOCKET_TIMEOUT_S", "0.2")
    reset_all()
    try:
        assert remember_latest([tick("AAPL", "10", 5)]) == 0
    finally:
        reset_all()
