"""Execution tests reuse the Core API's fixtures (accounts and orders are made through its handlers)."""

from __future__ import annotations

from typing import Any

import pytest
from support.core_api import Api, Trader, core_conftest, new_trader
from tradeplane_tools.manifest import Bindings

_core = core_conftest()
core_env = _core.core_env
api = _core.api


@pytest.fixture
def trader(api: Api) -> Trader:
    return new_trader(api, cash="100000")


@pytest.fixture(scope="module")
def bindings(core_env: dict[str, Any]) -> Bindings:
    return Bindings(
        stage="local", db_dsn=core_env["dsn"], kafka_bootstrap=core_env["kafka"], redis_url=core_env["redis_url"]
    )


@pytest.fixture
def set_price(core_env: dict[str, Any]) -> Any:
    """Write `px:<symbol>` as the bar aggregator does (price, tick time)."""
    import time

    import redis
    from tradeplane.contracts.market import latest_price_key

    client = redis.Redis.from_url(core_env["redis_url"])

    def put(symbol: str, price: str) -> None:
        client.hset(latest_price_key(symbol), mapping={"p": price, "t": str(int(time.time() * 1e6))})

    yield put
    client.close()
