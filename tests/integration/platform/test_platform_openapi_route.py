"""GET /v1/openapi.json serves the committed document."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest
from support.routes import call, load_handler
from tradeplane_tools.openapi import DEFAULT_OUTPUT

pytestmark = pytest.mark.integration


@pytest.fixture
def openapi_get(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    from support.reset import reset_all

    yield load_handler("openapi_get", monkeypatch, {"TP_REDIS_URL": redis_url})
    reset_all()


def test_serves_the_committed_document_publicly(openapi_get: ModuleType) -> None:
    r = call(openapi_get, "GET /v1/openapi.json", "/v1/openapi.json", authorizer={}, source_ip="10.0.0.9")
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    assert r.text == DEFAULT_OUTPUT.read_text(encoding="utf-8")
    assert r.json()["openapi"].startswith("3.1") and r.headers["x-ratelimit-limit"] == "200"
