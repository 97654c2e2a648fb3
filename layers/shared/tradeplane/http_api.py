"""The resolver every HTTP route function starts from: validation, problems, rate limit, caller.

    app = api_resolver(SETTINGS, alpaca=True)   # an Alpaca-shaped /v2 route

Requests no route could decode are refused first (`tradeplane.http_guard`: 415,
400); validation is on (request models, and the OpenAPI document the tooling
merges from every route); errors are RFC 9457 problems (with Alpaca's `code` and
`message` when `alpaca=True`); settings that include `RateLimitSettings` put the
per-principal token bucket in front of every route of the resolver.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from tradeplane.auth import Principal, anonymous_response
from tradeplane.http_guard import check_request
from tradeplane.observability import logger
from tradeplane.problems import problem_response, register_problem_handlers
from tradeplane.rate_limit import RateLimit, rate_limiter
from tradeplane.settings import FunctionSettings, RateLimitSettings

__all__ = ["GuardedResolver", "api_resolver", "caller"]


class GuardedResolver(APIGatewayHttpResolver):
    """A Powertools HTTP resolver that first refuses what no route could decode (`tradeplane.http_guard`).

    Undecodable bodies would otherwise raise inside Powertools' own parsing, before any route or
    exception handler could answer with a 4xx.
    """

    def __init__(self, *, alpaca: bool, authenticated: bool, text_types: tuple[str, ...] = ()) -> None:
        super().__init__(enable_validation=True)
        self.alpaca, self.authenticated, self.text_types = alpaca, authenticated, text_types

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        answer = self._answer(event, context)
        # One access line per request: with the correlation id it ties the route into the flow's trace.
        logger.info("request handled", extra={"route": event.get("routeKey"), "status": answer.get("statusCode")})
        return answer

    def _answer(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        # Anonymous callers learn nothing, not even whether their body would validate.
        anonymous = anonymous_response(event) if self.authenticated else None
        if anonymous is not None:
            return anonymous
        problem = check_request(event, self.text_types)
        if problem is None:
            return super().resolve(event, context)
        problem.instance = str(event.get("rawPath") or "") or None
        return problem_response(problem.with_alpaca_members() if self.alpaca else problem)


def api_resolver(
    settings: FunctionSettings, *, alpaca: bool = False, authenticated: bool = True, text_types: tuple[str, ...] = ()
) -> GuardedResolver:
    """The route's resolver. `authenticated=False` only for routes the manifest marks `auth = "none"`:
    the authorizer passes unauthenticated callers on with an empty context, and this answers them 401.
    `text_types` (e.g. `("text/csv",)`) are media types the route reads from the raw body itself."""
    app = GuardedResolver(alpaca=alpaca, authenticated=authenticated, text_types=text_types)
    register_problem_handlers(app, alpaca=alpaca)
    if isinstance(settings, RateLimitSettings):
        app.use([rate_limiter(RateLimit(settings.rate_limit_per_minute, settings.rate_limit_bucket))])
    return app


def caller(app: APIGatewayHttpResolver) -> Principal:
    """The principal the authorizer described for the request being handled."""
    return Principal.from_authorizer(app.current_event.request_context.authorizer.get_lambda)
