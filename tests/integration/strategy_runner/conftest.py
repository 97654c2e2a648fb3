"""Strategy runner tests reuse the Core API's and execution's fixtures (accounts, orders, the executor)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from support.core_api import Api, Trader, new_trader
from tradeplane_tools.manifest import Bindings

_spec = importlib.util.spec_from_file_location(
    "execution_conftest", Path(__file__).parents[1] / "execution" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_execution = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_execution)
core_env = _execution.core_env
api = _execution.api
set_price = _execution.set_price


@pytest.fixture(scope="module")
def bindings(core_env: dict[str, Any]) -> Bindings:
    """Execution's bindings plus the keyset secret the runner signs its service tokens with."""
    import os

    return Bindings(
        stage="local", db_dsn=core_env["dsn"], kafka_bootstrap=core_env["kafka"], redis_url=core_env["redis_url"],
        secret_ids={"jwt-signing-keys": os.environ["TP_SECRET_JWT_SIGNING_KEYS"]},
    )  # fmt: skip


@pytest.fixture
def trader(api: Api) -> Trader:
    return new_trader(api, cash="100000")


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The signal events the runner handed to the producer (it still publishes them for real)."""
    from tradeplane import kafka_producer

    seen: list[Any] = []
    real = kafka_producer.publish

    def spy(topic: str, key: str, envelope: Any, **kw: Any) -> None:
        seen.append((topic, key, envelope))
        real(topic, key, envelope, **kw)

    monkeypatch.setattr(kafka_producer, "publish", spy)
    return seen
