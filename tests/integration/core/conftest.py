"""Fixtures for the Core API's integration tests (helpers: tests/support/core_api.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from support.core_api import Api, Trader, new_trader
from support.reset import reset_all
from tradeplane_tools.keys import generate_keyset
from tradeplane_tools.migrate import apply_migrations


@pytest.fixture(scope="module")
def core_env(pg_dsn: str, redis_url: str, kafka_bootstrap: str, moto_server: Any) -> Iterator[dict[str, Any]]:
    """A migrated database, a keyset secret in moto and the TP_* variables every Core function reads."""
    apply_migrations(pg_dsn)
    keyset = generate_keyset("k1")
    secret = "tradeplane/test/jwt-" + uuid.uuid4().hex[:8]
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {
            "AWS_ENDPOINT_URL": moto_server.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "TP_DB_DSN": pg_dsn,
            "TP_REDIS_URL": redis_url,
            "TP_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "TP_SECRET_JWT_SIGNING_KEYS": secret,
            "TP_API_AUDIENCE": "tradeplane-api",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "Tradeplane",
            "POWERTOOLS_SERVICE_NAME": "core",
        }.items():
            mp.setenv(k, v)
        boto3.client("secretsmanager").create_secret(Name=secret, SecretString=json.dumps(keyset))
        reset_all()
        yield {"dsn": pg_dsn, "keyset": keyset, "redis_url": redis_url, "kafka": kafka_bootstrap}
        reset_all()


@pytest.fixture(scope="module")
def api(core_env: dict[str, Any]) -> Api:
    return Api()


@pytest.fixture
def trader(api: Api) -> Trader:
    return new_trader(api)


@pytest.fixture
def other(api: Api) -> Trader:
    return new_trader(api)
