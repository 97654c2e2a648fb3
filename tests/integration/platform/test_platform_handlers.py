"""health_get called directly with generated API Gateway events: 200 when every dependency answers, 503 when not."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from types import ModuleType

import pytest
from support.handlers import LambdaContext, load_handler
from support.reset import reset_all
from tradeplane_local import events
from tradeplane_tools.manifest import Bindings

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    # These tests bind clients to dead endpoints on purpose; later tests must not inherit them.
    yield
    reset_all()


def _get_health(module: ModuleType) -> tuple[int, dict[str, object]]:
    req = events.HttpRequest("GET", "/v1/health", "", [], b"", "127.0.0.1")
    result = module.handler(events.http_api_event(req, "GET /v1/health"), LambdaContext("health_get"))
    assert result["headers"]["Cache-Control"] == "no-store"
    return result["statusCode"], json.loads(result["body"])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_healthy_when_postgres_and_redis_answer(monkeypatch: pytest.MonkeyPatch, pg_dsn: str, redis_url: str) -> None:
    module = load_handler("health_get", monkeypatch, Bindings(stage="local", db_dsn=pg_dsn, redis_url=redis_url))
    status, body = _get_health(module)
    assert status == 200 and body["status"] == "ok"


def test_unhealthy_dependency_is_503_and_named(monkeypatch: pytest.MonkeyPatch, pg_dsn: str) -> None:
    dead = f"redis://127.0.0.1:{_closed_port()}/0"
    module = load_handler("health_get", monkeypatch, Bindings(stage="local", db_dsn=pg_dsn, redis_url=dead))
    status, body = _get_health(module)
    assert status == 503
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks["postgres"]["ok"] is True and checks["redis"]["ok"] is False
