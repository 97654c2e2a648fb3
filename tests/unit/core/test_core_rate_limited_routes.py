"""Every authenticated HTTP route of the Core API sits behind the per-principal token bucket.

Walks the manifest rather than a list, so a route added later without the limit fails here.
"""

from __future__ import annotations

import pytest
from support.handlers import MANIFEST, load_handler
from tradeplane.rate_limit import RateLimit
from tradeplane.settings import RateLimitSettings
from tradeplane_tools.manifest import HttpTrigger, placeholder_bindings

FULL = placeholder_bindings(MANIFEST)
AUTHENTICATED_CORE_ROUTES = sorted(
    fn.name for trigger, fn in MANIFEST.routes() if fn.component == "core" and trigger.auth == "authorizer"
)


def test_the_walk_finds_the_book_routes() -> None:
    # Guards the walk itself: a filter that matched nothing would make every case below vacuous.
    assert {"orders_submit", "positions_list", "activities_list", "api_keys_create", "clock_get"} <= set(
        AUTHENTICATED_CORE_ROUTES
    )
    assert "auth_token" not in AUTHENTICATED_CORE_ROUTES  # public: API Gateway's per-route throttle instead


@pytest.mark.parametrize("name", AUTHENTICATED_CORE_ROUTES)
def test_authenticated_core_route_is_rate_limited(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fn = MANIFEST.function(name)
    assert fn.uses.redis, f"{name}: the token bucket lives in Redis; set uses.redis = true"
    module = load_handler(name, monkeypatch, FULL)
    assert isinstance(module.SETTINGS, RateLimitSettings), f"{name}: Settings must include RateLimitSettings"
    limits = [getattr(m, "rate_limit", None) for m in module.app._router_middlewares]
    own = fn.environment.get("TP_RATE_LIMIT_PER_MINUTE")
    expected = RateLimit(int(own), fn.environment["TP_RATE_LIMIT_BUCKET"]) if own else RateLimit(200, "api")
    assert limits.count(expected) == 1 and len([x for x in limits if x is not None]) == 1


def test_every_core_route_is_either_limited_or_public() -> None:
    for trigger, fn in MANIFEST.routes():
        if fn.component == "core":
            assert isinstance(trigger, HttpTrigger)
            assert trigger.auth == "none" or fn.name in AUTHENTICATED_CORE_ROUTES
