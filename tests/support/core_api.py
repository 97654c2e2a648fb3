"""Core API handlers called in-process, the way the gateway calls them: authorizer first, then the route.

`api` runs the real authorizer on each request and hands its context to the route's
real handler, against the harness's Postgres, Redis, Kafka and moto servers.
Each handler module is imported from its function folder and gets its own settings
before each call, as its own container would.
"""

from __future__ import annotations

import importlib.util
import json
import types
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tradeplane.settings import load_settings
from tradeplane_local import events
from tradeplane_local.gateway import Route, Router
from tradeplane_tools.manifest import DEFAULT_MANIFEST, load_manifest

MANIFEST = load_manifest(DEFAULT_MANIFEST)
FUNCTIONS = DEFAULT_MANIFEST.parent


class Context:
    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = uuid.uuid4().hex
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


_modules: dict[str, types.ModuleType] = {}


def handler_module(name: str, modules: dict[str, types.ModuleType] = _modules) -> types.ModuleType:
    """Import functions/<path>/handler.py once per `modules` (by default once per session) under a name of its own."""
    if name not in modules:
        spec = MANIFEST.functions[name]
        path = FUNCTIONS / spec.path / "handler.py"
        loader = importlib.util.spec_from_file_location(f"handler_{name}", path)
        assert loader is not None and loader.loader is not None
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
        modules[name] = module
    return modules[name]


def invoke(name: str, event: Mapping[str, Any], modules: dict[str, types.ModuleType] = _modules) -> Any:
    module = handler_module(name, modules)
    module.SETTINGS = load_settings(module.Settings)  # this container's settings, as its own process would have
    return module.handler(dict(event), Context(name))


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    def json(self) -> Any:
        return self.body


@dataclass
class Api:
    router: Router = field(default_factory=lambda: Router([Route.of(t, f.name) for t, f in MANIFEST.routes()]))
    source_ip: str = "127.0.0.1"
    authorizer_calls: int = 0
    # Handler modules by function: the session's by default; `{}` gives this Api containers of its own,
    # for calls from several threads at once (a Powertools resolver serves one invocation at a time).
    modules: dict[str, types.ModuleType] = field(default_factory=lambda: _modules)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        raw_body: bytes | None = None,
    ) -> Reply:
        route, params, _ = self.router.match(method, path)
        assert route is not None, f"no route for {method} {path}"
        hdrs = {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}}
        body = raw_body if raw_body is not None else (json.dumps(json_body).encode() if json_body is not None else b"")
        req = events.HttpRequest(method, path, urlencode(query or {}), list(hdrs.items()), body, self.source_ip)
        context = None
        if route.auth:
            self.authorizer_calls += 1
            decision = invoke("authorizer", events.authorizer_event(req, route.key, [], params), self.modules)
            if decision["isAuthorized"] is not True:
                return Reply(403, {}, {"message": "Forbidden"})
            context = decision.get("context") or {}
        status, out_headers, raw = events.http_response(
            invoke(route.function, events.http_api_event(req, route.key, params, context), self.modules)
        )
        return Reply(status, {k.lower(): v for k, v in out_headers}, json.loads(raw) if raw else None)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, json_body=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("PUT", path, json_body=body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("PATCH", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.request("DELETE", path, **kw)


@dataclass
class Trader:
    """A signed-up user with one account and an API key for it."""

    api: Api
    username: str
    password: str
    user_id: str
    token: str
    account_id: str
    key_id: str
    secret: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def key(self) -> dict[str, str]:
        return {"APCA-API-KEY-ID": self.key_id, "APCA-API-SECRET-KEY": self.secret}


def sign_in(api: Api, username: str, password: str, account_id: str | None = None) -> dict[str, Any]:
    body = {"grant_type": "password", "username": username, "password": password}
    if account_id:
        body["account_id"] = account_id
    reply = api.post("/v1/auth/token", body)
    assert reply.status == 200, reply.body
    return dict(reply.body)


def new_trader(api: Api, cash: str = "100000") -> Trader:
    from tp_core.identity import create_user

    username = "trader-" + uuid.uuid4().hex[:8]
    password = "correct horse battery staple"
    user_id = str(create_user(username, password))
    token = sign_in(api, username, password)["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    account = api.post("/v1/accounts", {"currency": "USD", "starting_cash": cash}, headers=bearer)
    assert account.status == 201, account.body
    key = api.post("/v1/api-keys", {"account_id": account.body["id"], "label": "bot"}, headers=bearer)
    assert key.status == 201, key.body
    return Trader(api, username, password, user_id, token, account.body["id"], key.body["key_id"], key.body["secret"])


class _Clearable:
    def __init__(self, lookups: Any) -> None:
        self._lookups = lookups

    def clear(self) -> None:
        self._lookups._cache.clear()


def authorizer_lookups() -> _Clearable:
    """The in-process authorizer's lookup cache, to skip its TTL in tests."""
    return _Clearable(handler_module("authorizer").LOOKUPS)


def core_conftest() -> types.ModuleType:
    """The Core API suite's conftest as a module: other suites reuse its fixtures (users, accounts, keys and
    orders made through the Core API's own handlers) by binding them in their conftest."""
    path = Path(__file__).parents[1] / "integration" / "core" / "conftest.py"
    spec = importlib.util.spec_from_file_location("core_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
