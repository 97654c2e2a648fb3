"""The manifest's `websocket` trigger: routes are unique, a message route exists, limits hold, and functions that
post to connections get the management endpoint."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tradeplane_tools.manifest import Bindings, ManifestError, environment_for, parse_manifest

BASE: dict[str, Any] = {
    "layers": {
        "shared": {"kind": "source", "source": "layers/shared"},
        "deps-base": {"kind": "dependencies", "packages": ["pydantic"]},
    },
    "functions": {
        "ws_connect": {"component": "streaming", "path": "streaming/ws_connect",
                       "triggers": [{"type": "websocket", "route": "$connect"}]},
        "ws_message": {"component": "streaming", "path": "streaming/ws_message", "uses": {"websocket": True},
                       "triggers": [{"type": "websocket", "route": "$default"}]},
    },
}  # fmt: skip


def _with(name: str, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["functions"][name] = {**data["functions"].get(name, {}), **changes}
    return data


def test_base_is_valid_and_lists_its_routes() -> None:
    m = parse_manifest(BASE)
    assert {(t.route, f.name) for t, f in m.websocket_routes()} == {
        ("$connect", "ws_connect"),
        ("$default", "ws_message"),
    }


def test_a_route_twice_is_named() -> None:
    data = _with(
        "other", component="streaming", path="streaming/other", triggers=[{"type": "websocket", "route": "$default"}]
    )
    with pytest.raises(ManifestError, match=r"WebSocket route \$default is also ws_message's"):
        parse_manifest(data)


def test_routes_without_a_message_route_are_refused() -> None:
    data = copy.deepcopy(BASE)
    del data["functions"]["ws_message"]
    with pytest.raises(ManifestError, match="none for messages"):
        parse_manifest(data)


@pytest.mark.parametrize(("route", "ok"), [("$connect", True), ("listen", True), ("$other", False), ("", False)])
def test_route_keys(route: str, ok: bool) -> None:
    data = _with(
        "ws_message", triggers=[{"type": "websocket", "route": route}, {"type": "websocket", "route": "$default"}]
    )
    if ok and route != "$connect":
        parse_manifest(data)
    else:
        with pytest.raises(ManifestError):
            parse_manifest(data)


def test_the_websocket_integration_limit_is_29_seconds() -> None:
    parse_manifest(_with("ws_message", timeout=29))
    with pytest.raises(ManifestError, match=r"ws_message\.timeout: 30 s exceeds the WebSocket API's 29 s"):
        parse_manifest(_with("ws_message", timeout=30))


def test_only_functions_that_post_get_the_management_endpoint() -> None:
    m = parse_manifest(BASE)
    bindings = Bindings(stage="dev", websocket_endpoint="https://api.example/dev")
    assert environment_for(m, m.functions["ws_message"], bindings)["TP_WS_ENDPOINT"] == "https://api.example/dev"
    assert "TP_WS_ENDPOINT" not in environment_for(m, m.functions["ws_connect"], bindings)
