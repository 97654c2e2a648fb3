"""Event builders and routing, checked against the Powertools parser models."""

from __future__ import annotations

import base64
import gzip
import json

from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventV2Model,
    CloudWatchLogsModel,
    EventBridgeModel,
    KafkaMskEventModel,
)
from tradeplane_local import events
from tradeplane_local.gateway import AuthorizerCache, Route, Router
from tradeplane_tools.manifest import HttpTrigger


def req(**kw) -> events.HttpRequest:  # type: ignore[no-untyped-def]
    base = {"method": "GET", "path": "/v1/a", "query": "", "headers": [("Host", "h")], "body": b""}
    base["source_ip"] = "10.0.0.1"
    base.update(kw)
    return events.HttpRequest(**base)  # type: ignore[arg-type]


def test_v2_event_joins_repeated_headers_and_splits_cookies() -> None:
    e = events.http_api_event(req(headers=[("X-A", "1"), ("x-a", "2"), ("Cookie", "a=1; b=2")]), "GET /v1/a")
    assert e["headers"]["x-a"] == "1,2" and e["cookies"] == ["a=1", "b=2"]
    APIGatewayProxyEventV2Model.model_validate(e)


def test_authorizer_event_has_identity_and_route_arn() -> None:
    e = events.authorizer_event(req(headers=[("Authorization", "Bearer t")]), "GET /v1/a", ["Bearer t"])
    assert e["type"] == "REQUEST" and e["identitySource"] == ["Bearer t"]
    assert e["routeArn"].endswith("/$default/GET/v1/a")


def test_msk_event_groups_by_topic_partition_and_validates() -> None:
    recs = [
        events.KafkaRecord("t", p, o, 1700000000000, b"k", b"v", [("h", b"x")]) for p, o in [(0, 5), (1, 7), (0, 6)]
    ]
    e = events.msk_event(recs, "b:9092")
    assert [r["offset"] for r in e["records"]["t-0"]] == [5, 6]
    assert e["records"]["t-0"][0]["headers"] == [{"h": [120]}]
    model = KafkaMskEventModel.model_validate(e)
    assert model.records["t-1"][0].key == b"k"


def test_scheduled_and_logs_events_validate() -> None:
    EventBridgeModel.model_validate(events.scheduled_event("r"))
    e = events.cloudwatch_logs_event("fn", "s", [events.LogLine(1, "hello")], "sub")
    doc = json.loads(gzip.decompress(base64.b64decode(e["awslogs"]["data"])))
    assert doc["logEvents"][0]["message"] == "hello"
    CloudWatchLogsModel.model_validate(e)


def test_http_response_mapping() -> None:
    assert events.http_response({"a": 1}) == (200, [("Content-Type", "application/json")], b'{"a": 1}')
    status, headers, body = events.http_response(
        {"statusCode": 204, "headers": {"X": "1"}, "cookies": ["c=1"], "body": ""}
    )
    assert status == 204 and ("Set-Cookie", "c=1") in headers and body == b""
    assert (
        events.http_response({"statusCode": 200, "body": base64.b64encode(b"\x00").decode(), "isBase64Encoded": True})[
            2
        ]
        == b"\x00"
    )


def test_router_prefers_literal_and_reports_allowed_methods() -> None:
    def route(method: str, path: str, fn: str) -> Route:
        return Route.of(HttpTrigger(type="http", method=method, path=path), fn)  # type: ignore[arg-type]

    r = Router(
        [
            route("GET", "/v1/orders/{id}", "get"),
            route("GET", "/v1/orders/open", "open"),
            route("DELETE", "/v1/orders/{id}", "cancel"),
            route("GET", "/v1/files/{key+}", "files"),
        ]
    )
    assert r.match("GET", "/v1/orders/open")[0].function == "open"  # type: ignore[union-attr]
    found, params, _ = r.match("GET", "/v1/orders/42")
    assert found is not None and found.function == "get" and params == {"id": "42"}
    assert r.match("GET", "/v1/files/a/b.csv")[1] == {"key": "a/b.csv"}
    assert r.match("POST", "/v1/orders/42")[2] == ["DELETE", "GET"]
    assert r.match("GET", "/v1/other") == (None, {}, [])


def test_authorizer_cache_respects_ttl() -> None:
    assert AuthorizerCache(0).get(("a",)) is None
    cache = AuthorizerCache(60)
    cache.put(("a",), {"isAuthorized": True})
    assert cache.get(("a",)) == {"isAuthorized": True}
    cache.ttl_s = 0
    cache.put(("b",), {"isAuthorized": True})
    assert cache.get(("b",)) is None
