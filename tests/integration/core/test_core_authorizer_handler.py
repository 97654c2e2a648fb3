"""The authorizer called directly with generated REQUEST authorizer events; its keyset in (moto's) Secrets Manager."""

from __future__ import annotations

import json
import time
import uuid
from types import ModuleType

import boto3
import jwt
import pytest
from support.handlers import LambdaContext, load_handler
from tradeplane.tokens import issue
from tradeplane_local import events
from tradeplane_tools.keys import generate_keyset
from tradeplane_tools.manifest import Bindings
from tradeplane_tools.migrate import apply_migrations

pytestmark = pytest.mark.integration

KEYSET = generate_keyset("k1")


@pytest.fixture(scope="module")
def migrated(pg_dsn: str) -> str:
    apply_migrations(pg_dsn)
    return pg_dsn


@pytest.fixture
def authorizer(aws_env: str, migrated: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    name = "jwt-" + uuid.uuid4().hex[:8]
    boto3.client("secretsmanager").create_secret(Name=name, SecretString=json.dumps(KEYSET))
    bindings = Bindings(stage="local", db_dsn=migrated, secret_ids={"jwt-signing-keys": name})
    return load_handler("authorizer", monkeypatch, bindings)


def _authorize(module: ModuleType, authorization: str | None) -> dict[str, object]:
    headers = [("authorization", authorization)] if authorization else []
    req = events.HttpRequest("POST", "/v1/market-data", "", headers, b"", "127.0.0.1")
    event = events.authorizer_event(req, "POST /v1/market-data", [authorization or ""])
    result: dict[str, object] = module.handler(event, LambdaContext("authorizer"))
    return result


def test_a_valid_token_is_allowed_with_its_principal(authorizer: ModuleType) -> None:
    token = issue(KEYSET, "user-1", "tradeplane-api", scope=["market-data:write"])
    result = _authorize(authorizer, f"Bearer {token}")
    assert result["isAuthorized"] is True
    context = result["context"]
    assert isinstance(context, dict)
    assert context["sub"] == "user-1" and context["scope"] == "market-data:write" and context["exp"] > time.time()


@pytest.mark.parametrize("case", ["missing", "not-bearer", "wrong-audience", "ten-years"])
def test_bad_credentials_pass_on_unauthenticated(authorizer: ModuleType, case: str) -> None:
    # Passed on with an empty context: the route answers 401 in Alpaca's shape (a simple-response
    # authorizer could only deny with 403).
    now = int(time.time())
    long_lived = jwt.encode(
        {"iss": "tradeplane", "sub": "u", "aud": "tradeplane-api", "iat": now, "exp": now + 10 * 365 * 86400},
        KEYSET["keys"]["k1"]["private_pem"],
        algorithm="ES256",
        headers={"kid": "k1"},
    )
    header = {
        "missing": None,
        "not-bearer": "Basic dXNlcjpwdw==",
        "wrong-audience": f"Bearer {issue(KEYSET, 'u', 'another-service')}",
        "ten-years": f"Bearer {long_lived}",
    }[case]
    result = _authorize(authorizer, header)
    assert result["isAuthorized"] is True and result.get("context", {}) == {}
