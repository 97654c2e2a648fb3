"""Call HTTP route handlers directly, with events built by the local runtime's `events` module."""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from tradeplane_local import events
from tradeplane_local.worker import LambdaContext

__all__ = ["Answer", "call", "load_handler"]


def load_handler(folder: str, monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str]) -> ModuleType:
    """Import `<folder>.handler` afresh (a cold start) with `env` set, as Lambda would."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", folder)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop(f"{folder}.handler", None)
    return importlib.import_module(f"{folder}.handler")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def call(
    module: ModuleType,
    route: str,
    path: str,
    *,
    query: str = "",
    body: Any = None,
    path_parameters: Mapping[str, str] | None = None,
    authorizer: Mapping[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
) -> Answer:
    """Invoke `module.handler` for `route` ("GET /v2/assets") at `path` as API Gateway would."""
    method = route.split(" ", 1)[0]
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    headers = [("content-type", "application/json")] if raw else []
    request = events.HttpRequest(method, path, query, headers, raw, source_ip)
    ctx = {"sub": "user-1", "scope": ""} if authorizer is None else authorizer
    event = events.http_api_event(request, route, path_parameters, ctx)
    result = module.handler(event, LambdaContext("req-" + str(time.monotonic_ns()), int(time.time() * 1000) + 10_000))
    return Answer(result["statusCode"], {k.lower(): v for k, v in result.get("headers", {}).items()}, result["body"])
