"""Every function's settings model is what its manifest entry `uses`, and a missing variable fails its cold start."""

from __future__ import annotations

import pytest
from support.handlers import MANIFEST, handler_environment, load_handler
from tradeplane.settings import ConfigurationError, KafkaSettings, PostgresSettings, RedisSettings, WebSocketSettings
from tradeplane_tools.manifest import HttpTrigger, KafkaTrigger, placeholder_bindings

FULL = placeholder_bindings(MANIFEST)
FUNCTIONS = sorted(MANIFEST.functions)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_settings_model_matches_uses(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fn = MANIFEST.function(name)
    settings = load_handler(name, monkeypatch, FULL).SETTINGS
    assert isinstance(settings, PostgresSettings) == bool(fn.uses.postgres)
    assert isinstance(settings, RedisSettings) == fn.uses.redis
    assert isinstance(settings, KafkaSettings) == bool(fn.uses.produces or fn.triggers_of(KafkaTrigger))
    assert isinstance(settings, WebSocketSettings) == fn.uses.websocket
    for secret in fn.uses.secrets:
        assert getattr(settings, f"secret_{secret.replace('-', '_')}") == f"tradeplane/local/{secret}"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_bound_variable_is_required_at_cold_start(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    required = [v for v in handler_environment(name, FULL) if v in _REQUIRED_BY_USES]
    for variable in required:
        load_handler(name, monkeypatch, FULL)  # loads cleanly with everything bound
        monkeypatch.delenv(variable)
        with pytest.raises(ConfigurationError, match=variable):
            _reload(name)


_REQUIRED_BY_USES = (
    {"TP_DB_DSN", "TP_REDIS_URL", "TP_KAFKA_BOOTSTRAP", "TP_WS_ENDPOINT"}
    | {f"TP_SECRET_{name.upper().replace('-', '_')}" for name in MANIFEST.secrets}
    | {f"TP_SERVICE_URL_{component.upper()}" for component in FULL.service_urls}
)


def _reload(name: str) -> None:
    import importlib
    import sys

    fn = MANIFEST.function(name)
    importlib.reload(sys.modules[f"{fn.folder}.{fn.module}"])


@pytest.mark.parametrize("name", sorted(fn.name for _, fn in MANIFEST.routes()))
def test_routes_refuse_anonymous_callers_unless_public(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The authorizer passes unauthenticated callers on (so routes can answer 401 in Alpaca's shape);
    # each route's resolver must then refuse them, unless the manifest marks the route public.
    fn = MANIFEST.function(name)
    public = all(t.auth == "none" for t in fn.triggers_of(HttpTrigger))
    app = load_handler(name, monkeypatch, FULL).app
    assert app.authenticated is not public
