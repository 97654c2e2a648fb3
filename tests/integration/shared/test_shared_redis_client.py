"""tradeplane.cache against a real Redis."""

from __future__ import annotations

import json
import uuid

import pytest
from tradeplane import redis_client

pytestmark = pytest.mark.integration


def test_client_is_lazy_and_reused(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_REDIS_URL", redis_url)
    client = redis_client.client()
    assert redis_client.client() is client
    k = redis_client.key("px", "AAPL")
    assert k == "px:AAPL"
    client.set(k, b"189.25", ex=60)
    assert client.get(k) == b"189.25"  # bytes: decode_responses=False
    assert 0 < client.ttl(k) <= 60


def test_missing_url_is_a_configuration_error() -> None:
    from tradeplane.settings import ConfigurationError

    with pytest.raises(ConfigurationError, match="TP_REDIS_URL"):
        redis_client.client()


def test_auth_token_from_secret(redis_url: str, aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The test server has no password, so a wrong token would fail AUTH; use the ACL default user check instead:
    # the token is read from the secret (JSON form) and handed to redis-py.
    import boto3

    name = "redis-" + uuid.uuid4().hex[:8]
    boto3.client("secretsmanager").create_secret(Name=name, SecretString=json.dumps({"auth_token": "s3cret"}))
    monkeypatch.setenv("TP_REDIS_URL", redis_url)
    monkeypatch.setenv("TP_REDIS_AUTH_SECRET_ID", name)
    client = redis_client.client()
    assert client.connection_pool.connection_kwargs["password"] == "s3cret"
    assert redis_client._auth_token(name) == "s3cret"


def test_plain_string_auth_token(aws_env: str) -> None:
    import boto3

    name = "redis-" + uuid.uuid4().hex[:8]
    boto3.client("secretsmanager").create_secret(Name=name, SecretString="plain-token")
    assert redis_client._auth_token(name) == "plain-token"
