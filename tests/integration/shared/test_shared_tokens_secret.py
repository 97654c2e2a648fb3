"""Token keysets stored in (moto) Secrets Manager."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from tradeplane import tokens
from tradeplane_tools import keys

pytestmark = pytest.mark.integration


def test_issue_and_verify_with_keyset_from_secrets_manager(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    name = "jwt-" + uuid.uuid4().hex[:8]
    keyset = keys.generate_keyset("k1")
    sm = boto3.client("secretsmanager")
    sm.create_secret(Name=name, SecretString=json.dumps(keyset))

    loaded = tokens.load_keyset(name)
    token = tokens.issue(loaded, "user-1", "core", scope=["orders:write"])
    claims = tokens.verify(loaded, token, "core")
    assert claims.sub == "user-1" and claims.has_scope("orders:write")

    # Rotation: the new key signs, tokens from the old key still verify while it is kept.
    rotated = keys.rotate_keyset(loaded, "k2")
    sm.put_secret_value(SecretId=name, SecretString=json.dumps(rotated))
    assert tokens.load_keyset(name)["active_kid"] == "k1"  # cached (max_age)
    fresh = tokens.load_keyset(name, force_fetch=True)
    assert fresh["active_kid"] == "k2"
    new_token = tokens.issue(fresh, "user-1", "core")
    assert tokens.verify(fresh, new_token, "core").sub == "user-1"
    assert tokens.verify(fresh, token, "core").sub == "user-1"
    with pytest.raises(tokens.TokenError) as info:
        tokens.verify(loaded, new_token, "core")
    assert info.value.reason == "unknown_kid"


def test_malformed_secret_fails_fast(aws_env: str) -> None:
    name = "jwt-" + uuid.uuid4().hex[:8]
    boto3.client("secretsmanager").create_secret(Name=name, SecretString=json.dumps({"keys": {}}))
    with pytest.raises(ValueError, match="invalid JWT keyset"):
        tokens.load_keyset(name)
