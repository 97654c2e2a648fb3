"""The FastAPI app factory every strategy route function builds once at init, wrapped in Mangum.

    app = new_app()
    @app.post("/v1/strategies", status_code=201)
    def create(body: StrategyCreate, who: Principal = CALLER) -> StrategyView: ...
    handler = lambda_handler(app, SETTINGS)

Each function's app holds only its own route (measured in `make bench`: importing the other routes'
models and handlers costs init time a single-route function never uses). Before FastAPI sees the
event, `lambda_handler` does what the platform's Powertools resolver does for Core routes, in the same
order: an anonymous caller is answered 401 (nothing about the route is revealed), an undecodable body
4xx (`tradeplane.http_guard`), the per-principal token bucket (`tradeplane.rate_limit`), then routing.
Errors are the platform's RFC 9457 problems (`api.problems`); the correlation id and the structured
access line come from `tradeplane.observability` as for every other route.

What every request uses is imported at init, Redis's client library included (each request takes a
token): a cold start pays the same either way, and init is where Lambda does it before the request
(provisioned concurrency, SnapStart). Only rare paths import on use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from mangum import Mangum
from redis.exceptions import RedisError
from tradeplane.auth import anonymous_response
from tradeplane.http_guard import check_request
from tradeplane.observability import correlation_paths, instrument, logger
from tradeplane.problems import Problem, problem_response, too_many_requests
from tradeplane.rate_limit import RateLimit, principal_key, take_token
from tradeplane.redis_client import client
from tradeplane.settings import FunctionSettings, RateLimitSettings

from tp_strategy.api.problems import register_problem_handlers
from tp_strategy.api.schema import problem_openapi

__all__ = ["lambda_handler", "new_app"]

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
# Mangum sends bodies of other media types base64-encoded; problems are text.
TEXT_TYPES = ["text/", "application/json", "application/problem+json"]


def new_app() -> FastAPI:
    """A FastAPI app with the platform's problem responses and no served docs (`/v1/openapi.json` serves the
    merged document of every function)."""
    app = FastAPI(title="Tradeplane strategy service", docs_url=None, redoc_url=None, openapi_url=None)
    register_problem_handlers(app)
    app.openapi = problem_openapi(app)  # type: ignore[method-assign]
    return app


def _rate_limited(event: Mapping[str, Any], limit: RateLimit) -> tuple[Problem | None, dict[str, str]]:
    """Take a token from the caller's bucket: a 429 problem when empty; the X-Ratelimit-* headers either way."""
    ctx = event.get("requestContext") or {}
    who = principal_key((ctx.get("authorizer") or {}).get("lambda"), (ctx.get("http") or {}).get("sourceIp"))
    try:
        decision = take_token(client(), limit, who)
    except RedisError as exc:  # Redis is a cache, never a gate (as tradeplane.rate_limit decides)
        logger.warning("rate limit not enforced: redis unavailable", extra={"error": type(exc).__name__})
        return None, {}
    if decision.allowed:
        return None, decision.headers()
    return too_many_requests(decision.retry_after_s, headers=decision.headers()), {}


def lambda_handler(app: FastAPI, settings: FunctionSettings, *, authenticated: bool = True) -> LambdaHandler:
    """The function's Lambda handler: platform checks, then `app` through Mangum."""
    mangum = Mangum(app, lifespan="off", text_mime_types=TEXT_TYPES)
    # What the handler enforces, readable as on the platform's resolvers (tests and tools check it).
    app.authenticated = authenticated  # type: ignore[attr-defined]
    limit = (
        RateLimit(settings.rate_limit_per_minute, settings.rate_limit_bucket)
        if isinstance(settings, RateLimitSettings)
        else None
    )

    def answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        refusal = anonymous_response(event) if authenticated else None
        if refusal is not None:
            return refusal
        problem = check_request(event)
        headers: dict[str, str] = {}
        if problem is None and limit is not None:
            problem, headers = _rate_limited(event, limit)
        if problem is not None:
            problem.instance = str(event.get("rawPath") or "") or None
            return problem_response(problem)
        result: dict[str, Any] = mangum(event, context)
        result["headers"] = {**(result.get("headers") or {}), **headers}
        return result

    @instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        result = answer(event, context)
        logger.info("request handled", extra={"route": event.get("routeKey"), "status": result.get("statusCode")})
        return result

    return handler
