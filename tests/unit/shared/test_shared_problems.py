"""RFC 9457 problem details and the Powertools resolver wiring."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from pydantic import BaseModel, Field, ValidationError
from tradeplane import problems
from tradeplane.problems import Problem, problem_response


def body(resp: dict[str, Any]) -> dict[str, Any]:
    return json.loads(resp["body"])  # type: ignore[no-any-return]


def test_problem_response_shape() -> None:
    resp = problem_response(problems.not_found("No order o-1.", instance="/v1/orders/o-1"))
    assert resp["statusCode"] == 404
    assert resp["headers"]["Content-Type"] == "application/problem+json"
    assert body(resp) == {
        "type": "https://tradeplane.dev/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "No order o-1.",
        "instance": "/v1/orders/o-1",
    }


def test_default_type_is_about_blank() -> None:
    assert Problem(418).to_dict() == {"type": "about:blank", "title": "I'm a Teapot", "status": 418}


@pytest.mark.parametrize(
    ("factory", "status"),
    [
        (problems.bad_request, 400),
        (problems.unauthorized, 401),
        (problems.forbidden, 403),
        (problems.not_found, 404),
        (problems.conflict, 409),
        (problems.unprocessable, 422),
    ],
)
def test_helpers(factory: Any, status: int) -> None:
    p = factory("why")
    assert p.status == status and p.to_dict()["detail"] == "why"
    assert p.type.startswith("https://tradeplane.dev/problems/")


def test_unauthorized_has_www_authenticate() -> None:
    assert problem_response(problems.unauthorized())["headers"]["WWW-Authenticate"] == "Bearer"


def test_too_many_requests_has_retry_after_rounded_up() -> None:
    resp = problem_response(problems.too_many_requests(2.2))
    assert resp["statusCode"] == 429
    assert resp["headers"]["Retry-After"] == "3"
    assert body(resp)["retry_after_s"] == 3
    assert problem_response(problems.too_many_requests(0))["headers"]["Retry-After"] == "1"


def test_internal_error_never_leaks() -> None:
    try:
        raise RuntimeError("password=hunter2 in SELECT * FROM core.users")
    except RuntimeError:
        resp = problem_response(problems.internal_error())
    assert resp["statusCode"] == 500
    assert "hunter2" not in resp["body"] and "SELECT" not in resp["body"]


def test_extensions_and_status_range() -> None:
    p = Problem(400, "Order rejected", slug="order-rejected", detail="d", balance="10.00")
    assert p.to_dict() == {"type": "https://tradeplane.dev/problems/order-rejected", "title": "Order rejected",
                           "status": 400, "detail": "d", "balance": "10.00"}  # fmt: skip
    with pytest.raises(ValueError, match="4xx or 5xx"):
        Problem(200)


class Order(BaseModel):
    symbol: str = Field(min_length=1)
    qty: int = Field(gt=0)


def test_from_validation_error_lists_fields_without_values() -> None:
    with pytest.raises(ValidationError) as info:
        Order.model_validate({"symbol": "", "qty": -5, "secret": "x"})
    p = problems.from_validation_error(info.value)
    d = p.to_dict()
    assert d["status"] == 422
    locs = {e["loc"] for e in d["errors"]}
    assert locs == {"symbol", "qty"}
    assert all(set(e) == {"loc", "msg", "type"} for e in d["errors"])
    assert "-5" not in p.to_json()


# --------------------------------------------------------------------------- Powertools resolver


def http_event(method: str, path: str, body: str | None = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "example.com",
            "domainPrefix": "example",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": "req-1",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "01/May/2024:12:00:00 +0000",
            "timeEpoch": 1714564800000,
        },
        "body": body,
        "isBase64Encoded": False,
    }


@pytest.fixture
def app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    problems.register_problem_handlers(app)

    @app.get("/v1/orders/<order_id>")
    def get_order(order_id: str) -> dict[str, str]:
        if order_id == "boom":
            raise RuntimeError("SELECT secret FROM core.users")
        if order_id == "legacy":
            raise BadRequestError("bad order id")
        raise problems.conflict("order is closed")

    @app.post("/v1/orders")
    def submit(order: Order) -> dict[str, Any]:
        return {"symbol": order.symbol}

    return app


def test_resolver_problem(app: APIGatewayHttpResolver) -> None:
    resp = app.resolve(http_event("GET", "/v1/orders/o-1"), {})
    assert resp["statusCode"] == 409
    assert resp["headers"]["Content-Type"] == "application/problem+json"
    assert body(resp)["detail"] == "order is closed" and body(resp)["instance"] == "/v1/orders/o-1"


def test_resolver_unexpected_error_is_generic_500(app: APIGatewayHttpResolver) -> None:
    resp = app.resolve(http_event("GET", "/v1/orders/boom"), {})
    assert resp["statusCode"] == 500
    assert "SELECT" not in resp["body"] and "Traceback" not in resp["body"]
    assert body(resp)["type"] == "https://tradeplane.dev/problems/internal"


def test_resolver_not_found(app: APIGatewayHttpResolver) -> None:
    resp = app.resolve(http_event("GET", "/v1/nothing"), {})
    assert resp["statusCode"] == 404
    assert resp["headers"]["Content-Type"] == "application/problem+json"


def test_resolver_service_error(app: APIGatewayHttpResolver) -> None:
    resp = app.resolve(http_event("GET", "/v1/orders/legacy"), {})
    assert resp["statusCode"] == 400 and body(resp)["detail"] == "bad order id"


def test_resolver_request_validation(app: APIGatewayHttpResolver) -> None:
    resp = app.resolve(http_event("POST", "/v1/orders", json.dumps({"symbol": "AAPL", "qty": 0})), {})
    assert resp["statusCode"] == 422
    assert resp["headers"]["Content-Type"] == "application/problem+json"
    errors = body(resp)["errors"]
    assert [e["loc"] for e in errors] == ["body.qty"]
    ok = app.resolve(http_event("POST", "/v1/orders", json.dumps({"symbol": "AAPL", "qty": 1})), {})
    assert ok["statusCode"] == 200
