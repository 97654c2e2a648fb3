"""The local gateway: requests become valid HTTP API v2 events and responses come back intact."""

from __future__ import annotations

import httpx
import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def client(fixture_runtime):  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=fixture_runtime.gateway_url, timeout=20) as c:
        yield c


def test_request_arrives_as_valid_v2_event_and_response_comes_back(client: httpx.Client) -> None:
    r = client.post(
        "/v1/echo/42?a=1&a=2&b=x",
        content=b'{"qty": "1.50"}',
        headers={"Content-Type": "application/json", "X-Multi": "one", "Cookie": "c1=v1; c2=v2"},
    )
    assert r.status_code == 201
    assert r.headers["x-echo"] == "1"
    body = r.json()
    event = body["event"]
    parsed = APIGatewayProxyEventV2Model.model_validate(event)  # the shape Powertools expects
    assert parsed.routeKey == "POST /v1/echo/{id}"
    assert parsed.rawPath == "/v1/echo/42"
    assert parsed.rawQueryString == "a=1&a=2&b=x"
    assert parsed.queryStringParameters == {"a": "1,2", "b": "x"}
    assert parsed.pathParameters == {"id": "42"}
    assert parsed.cookies == ["c1=v1", "c2=v2"]
    assert parsed.headers["x-multi"] == "one"
    assert parsed.requestContext.http.method == "POST"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["body"] == '{"qty": "1.50"}' and event["isBase64Encoded"] is False
    assert body["setting"] == "from-manifest"
    assert body["request_id"]


def test_binary_request_body_is_base64(client: httpx.Client) -> None:
    payload = bytes(range(256))
    r = client.post("/v1/echo/bin", content=payload, headers={"Content-Type": "application/octet-stream"})
    event = r.json()["event"]
    assert event["isBase64Encoded"] is True
    import base64

    assert base64.b64decode(event["body"]) == payload


def test_base64_response_body_is_decoded(client: httpx.Client) -> None:
    r = client.get("/v1/binary")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.content == bytes(range(256))


def test_plain_return_value_becomes_json_200(client: httpx.Client) -> None:
    r = client.get("/v1/env")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json()["ONLY_ENVDUMP"] == "yes"


def test_unknown_route_404_and_wrong_method_405(client: httpx.Client) -> None:
    assert client.get("/v1/nowhere").status_code == 404
    r = client.delete("/v1/echo/42")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"


def test_authorizer_denies_without_identity_and_with_bad_token(client: httpx.Client) -> None:
    assert client.get("/v1/private/echo").status_code == 401  # no identity source: authorizer not invoked
    r = client.get("/v1/private/echo", headers={"Authorization": "Bearer bad"})
    assert r.status_code == 403
    assert r.json() == {"message": "Forbidden"}


def test_authorizer_allows_and_its_context_reaches_the_route(client: httpx.Client) -> None:
    r = client.get("/v1/private/echo", headers={"Authorization": "Bearer good"})
    assert r.status_code == 201
    ctx = r.json()["event"]["requestContext"]["authorizer"]["lambda"]
    assert ctx == {"principal": "tester", "route": "GET /v1/private/echo"}


def test_function_error_is_500_without_details(client: httpx.Client, fixture_runtime) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/v1/boom")
    assert r.status_code == 500
    assert "secret internal detail" not in r.text
    assert fixture_runtime.hosts["boom"].stats.errors >= 1


def test_function_sees_only_its_own_environment(client: httpx.Client) -> None:
    env = client.get("/v1/env").json()
    assert env["ONLY_ENVDUMP"] == "yes"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "envdump"
    assert env["TP_SECRET_ONLY_ENVDUMP"] == "tradeplane/local/only-envdump"
    assert "ECHO_SETTING" not in env  # another function's setting
    assert "SINK_FILE" in env  # runtime-wide extra env given by the test
    # Nothing leaks from the runtime's own process environment beyond the Lambda basics.
    allowed_prefixes = (
        "AWS_",
        "TP_",
        "POWERTOOLS_",
        "_HANDLER",
        "PYTHON",
        "ONLY_",
        "SINK_FILE",
        "TZ",
        "LANG",
        "LC_",
        "PATH",
        "HOME",
        "TMPDIR",
    )
    assert [k for k in env if not k.startswith(allowed_prefixes)] == []
