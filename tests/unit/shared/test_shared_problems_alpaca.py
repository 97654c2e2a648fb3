"""Problems on Alpaca-shaped (/v2) resolvers also carry Alpaca's `code` and `message`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alpaca.common.exceptions import APIError
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from pydantic import BaseModel, Field
from test_shared_problems import http_event
from tradeplane import problems


class Order(BaseModel):
    qty: int = Field(gt=0)


def make_app(*, alpaca: bool) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    problems.register_problem_handlers(app, alpaca=alpaca)

    @app.get("/v2/things/<name>")
    def get_thing(name: str) -> dict[str, str]:
        raising: dict[str, Exception] = {
            "boom": RuntimeError("SELECT secret FROM core.users"),
            "legacy": BadRequestError("bad thing"),
            "forbidden": problems.forbidden("trading is blocked"),
            "limited": problems.too_many_requests(3),
            "custom": problems.Problem(403, detail="insufficient buying power", code=40310000),
        }
        raise raising.get(name, problems.not_found("no such thing"))

    @app.post("/v2/orders")
    def submit(order: Order) -> dict[str, int]:
        return {"qty": order.qty}

    return app


@pytest.fixture(scope="module")
def app() -> APIGatewayHttpResolver:
    return make_app(alpaca=True)


def call(app: APIGatewayHttpResolver, method: str, path: str, body: str | None = None) -> tuple[int, dict[str, Any]]:
    resp = app.resolve(http_event(method, path, body), {})
    assert resp["headers"]["Content-Type"] == "application/problem+json"
    return resp["statusCode"], json.loads(resp["body"])


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 40010000), (401, 40110000), (403, 40310000), (404, 40410000), (422, 42210000), (429, 42910000)],
)
def test_alpaca_code_of_common_statuses(status: int, code: int) -> None:
    assert problems.alpaca_code(status) == code


def test_internal_error_code() -> None:
    assert problems.alpaca_code(500) == 50010000


@pytest.mark.parametrize(
    ("name", "status", "code", "message"),
    [
        ("missing", 404, 40410000, "no such thing"),
        ("forbidden", 403, 40310000, "trading is blocked"),
        ("limited", 429, 42910000, "Too many requests; retry later."),
        ("legacy", 400, 40010000, "bad thing"),
        ("boom", 500, 50010000, "An unexpected error occurred; it has been logged."),
    ],
)
def test_problems_carry_code_and_message(
    app: APIGatewayHttpResolver, name: str, status: int, code: int, message: str
) -> None:
    got_status, body = call(app, "GET", f"/v2/things/{name}")
    assert got_status == status == body["status"]
    assert body["code"] == code and body["message"] == message
    assert body["type"] and body["title"]  # still an RFC 9457 document
    assert "SELECT" not in json.dumps(body)


def test_code_set_by_the_raiser_is_kept(app: APIGatewayHttpResolver) -> None:
    _, body = call(app, "GET", "/v2/things/custom")
    assert body["code"] == 40310000 and body["message"] == "insufficient buying power"


def test_validation_error_is_422_with_code(app: APIGatewayHttpResolver) -> None:
    status, body = call(app, "POST", "/v2/orders", json.dumps({"qty": 0}))
    assert status == 422 and body["code"] == 42210000 and body["message"] == "The request is not valid."
    assert [e["loc"] for e in body["errors"]] == ["body.qty"]


def test_unknown_route_is_404_with_code(app: APIGatewayHttpResolver) -> None:
    status, body = call(app, "GET", "/v2/nothing")
    assert status == 404 and body["code"] == 40410000


def test_alpaca_py_reads_code_and_message(app: APIGatewayHttpResolver) -> None:
    # alpaca-py's own APIError parses the body it got from a 4xx/5xx.
    resp = app.resolve(http_event("GET", "/v2/things/forbidden"), {})
    err = APIError(resp["body"])
    assert err.code == 40310000 and err.message == "trading is blocked"


def test_v1_resolvers_stay_plain_rfc9457() -> None:
    resp = make_app(alpaca=False).resolve(http_event("GET", "/v2/things/missing"), {})
    assert set(json.loads(resp["body"])) == {"type", "title", "status", "detail", "instance"}
