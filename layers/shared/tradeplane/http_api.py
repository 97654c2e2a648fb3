"""The resolver every HTTP route function starts from: validation, problems, rate limit, caller.

    app = api_resolver(SETTINGS, alpaca=True)   # an Alpaca-shaped /v2 route

Validation is on (request models, and the OpenAPI document the tooling merges
from every route); errors are RFC 9457 problems (with Alpaca's `code` and
`message` when `alpaca=True`); settings that include `RateLimitSettings` put the
per-principal token bucket in front of every route of the resolver.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from tradeplane.auth import Principal
from tradeplane.problems import register_problem_handlers
from tradeplane.rate_limit import RateLimit, rate_limiter
from tradeplane.settings import FunctionSettings, RateLimitSettings

__all__ = ["api_resolver", "caller"]


def api_resolver(settings: FunctionSettings, *, alpaca: bool = False) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    register_problem_handlers(app, alpaca=alpaca)
    if isinstance(settings, RateLimitSettings):
        app.use([rate_limiter(RateLimit(settings.rate_limit_per_minute, settings.rate_limit_bucket))])
    return app


def caller(app: APIGatewayHttpResolver) -> Principal:
    """The principal the authorizer described for the request being handled."""
    return Principal.from_authorizer(app.current_event.request_context.authorizer.get_lambda)
