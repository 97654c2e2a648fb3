"""RFC 9457 problem details (`application/problem+json`) for every HTTP error.

Raise a `Problem` (or use a helper) anywhere in a request handler; the
Powertools resolver turns it into a response once `register_problem_handlers(app)`
has run. No exception text, stack trace or SQL ever reaches the client:
unexpected errors become a generic 500 and are logged with the correlation id.

Resolvers of Alpaca-shaped `/v2` routes register with `alpaca=True`: every
problem then also carries Alpaca's integer `code` and `message` members (RFC
9457 allows extension members), because alpaca-py and alpaca-trade-api read
`json.loads(body)["code"]` and `["message"]` from any 4xx/5xx.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "PROBLEM_TYPE_BASE",
    "Problem",
    "alpaca_code",
    "bad_request",
    "conflict",
    "field_errors",
    "forbidden",
    "from_validation_error",
    "internal_error",
    "not_found",
    "problem_response",
    "register_problem_handlers",
    "too_many_requests",
    "unauthorized",
    "unprocessable",
    "unsupported_media_type",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://tradeplane.dev/problems/"
_RESERVED = frozenset({"type", "title", "status", "detail", "instance"})


class Problem(Exception):  # noqa: N818 (it is the RFC's name; raising it is the normal way to answer with an error)
    """An RFC 9457 problem; raise it to answer a request with an error."""

    def __init__(
        self,
        status: int,
        title: str | None = None,
        *,
        type: str | None = None,
        slug: str | None = None,
        detail: str | None = None,
        instance: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"problem status must be 4xx or 5xx, got {status}")
        clash = _RESERVED & extensions.keys()
        if clash:
            raise ValueError(f"extension members may not reuse standard names: {sorted(clash)}")
        self.status = status
        self.title = title or HTTPStatus(status).phrase
        self.type = type or (PROBLEM_TYPE_BASE + slug if slug else "about:blank")
        self.detail = detail
        self.instance = instance
        self.headers: dict[str, str] = dict(headers or {})
        self.extensions: dict[str, Any] = extensions
        super().__init__(f"{status} {self.title}" + (f": {detail}" if detail else ""))

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            body["detail"] = self.detail
        if self.instance is not None:
            body["instance"] = self.instance
        body.update(self.extensions)
        return body

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), default=str)

    def with_alpaca_members(self) -> Problem:
        """This problem with Alpaca's `code` and `message` added (kept when the raiser set them)."""
        self.extensions.setdefault("code", alpaca_code(self.status))
        self.extensions.setdefault("message", self.detail or self.title)
        return self

    def response_headers(self) -> dict[str, str]:
        return {"Content-Type": PROBLEM_CONTENT_TYPE, "Cache-Control": "no-store", **self.headers}


def alpaca_code(status: int) -> int:
    """Alpaca's generic error code for an HTTP status: the status followed by 10000 (404 -> 40410000).

    Alpaca's documented codes for the common statuses (40010000 bad request, 40110000 unauthorized,
    40310000 forbidden, 40410000 not found, 42210000 unprocessable, 42910000 rate limit, 50010000
    internal) all follow this pattern; specific rules may raise a `Problem` with their own `code`.
    """
    return status * 100_000 + 10_000


def problem_response(problem: Problem) -> dict[str, Any]:
    """The API Gateway HTTP API (payload v2) response for `problem`."""
    return {
        "statusCode": problem.status,
        "headers": problem.response_headers(),
        "body": problem.to_json(),
        "isBase64Encoded": False,
    }


# --------------------------------------------------------------------------- helpers


def bad_request(detail: str | None = None, **extensions: Any) -> Problem:
    return Problem(400, slug="bad-request", detail=detail, **extensions)


def unauthorized(detail: str | None = None, **extensions: Any) -> Problem:
    return Problem(401, slug="unauthorized", detail=detail, headers={"WWW-Authenticate": "Bearer"}, **extensions)


def forbidden(detail: str | None = None, **extensions: Any) -> Problem:
    return Problem(403, slug="forbidden", detail=detail, **extensions)


def not_found(detail: str | None = None, **extensions: Any) -> Problem:
    return Problem(404, slug="not-found", detail=detail, **extensions)


def conflict(detail: str | None = None, **extensions: Any) -> Problem:
    return Problem(409, slug="conflict", detail=detail, **extensions)


def unprocessable(detail: str | None = None, errors: Sequence[Mapping[str, Any]] = (), **extensions: Any) -> Problem:
    return Problem(422, title="Validation failed", slug="validation", detail=detail, errors=list(errors), **extensions)


def too_many_requests(
    retry_after_s: float, detail: str | None = None, *, headers: Mapping[str, str] | None = None, **extensions: Any
) -> Problem:
    seconds = max(1, int(-(-retry_after_s // 1)))  # round up: never tell a client to retry too early
    return Problem(
        429,
        slug="rate-limited",
        detail=detail or "Too many requests; retry later.",
        headers={**(headers or {}), "Retry-After": str(seconds)},
        retry_after_s=seconds,
        **extensions,
    )


def service_unavailable(retry_after_s: float, detail: str) -> Problem:
    seconds = max(1, int(-(-retry_after_s // 1)))
    return Problem(503, slug="unavailable", detail=detail, headers={"Retry-After": str(seconds)}, retry_after_s=seconds)


def internal_error(instance: str | None = None) -> Problem:
    """A generic 500. Never pass exception text here; log it instead."""
    return Problem(500, slug="internal", detail="An unexpected error occurred; it has been logged.", instance=instance)


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """pydantic-style error dicts -> [{"loc": "body.qty", "msg": "..."}] without the offending input values."""
    out: list[dict[str, str]] = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg, kind = str(err.get("msg", "invalid value")), str(err.get("type", ""))
        out.append({"loc": loc or "<root>", "msg": msg, "type": kind})
    return out


def from_validation_error(exc: ValidationError, detail: str | None = None) -> Problem:
    """A 422 listing each field error (location and message; input values are never echoed)."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return unprocessable(detail or "The request is not valid.", errors=field_errors(errors))


# --------------------------------------------------------------------------- Powertools


def _to_response(problem: Problem, alpaca: bool = False) -> Response[str]:
    from aws_lambda_powertools.event_handler import Response

    if alpaca:
        problem.with_alpaca_members()
    return Response(
        status_code=problem.status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=problem.to_json(),
        headers=problem.response_headers(),
    )


def unsupported_media_type(content_type: str, accepted: Sequence[str] = ("application/json",)) -> Problem:
    shown = content_type[:80] or "none"
    return Problem(
        415, slug="unsupported-media-type", detail=f"Send the body as {' or '.join(accepted)} (got {shown})."
    )


class _ProblemHandlers:
    """The exception handlers of one resolver: each maps an error to its problem document.

    `alpaca=True` (Alpaca-shaped `/v2` resolvers) adds Alpaca's `code` and `message` to every problem.
    """

    def __init__(self, app: APIGatewayHttpResolver, *, alpaca: bool) -> None:
        self.app, self.alpaca = app, alpaca

    def instance(self) -> str | None:
        try:
            path = self.app.current_event.raw_path
        except Exception:  # noqa: BLE001 (no current event: keep the problem without an instance)
            return None
        return path if isinstance(path, str) else None

    def respond(self, problem: Problem) -> Response[str]:
        if problem.instance is None:
            problem.instance = self.instance()
        if problem.status >= 500:
            from tradeplane.observability import logger

            logger.error("problem response", extra={"status": problem.status, "title": problem.title})
        return _to_response(problem, self.alpaca)

    def request_validation(self, exc: Exception) -> Response[str]:
        errors = list(getattr(exc, "errors", list)())
        return self.respond(unprocessable("The request is not valid.", errors=field_errors(errors)))

    def unsupported_content_type(self, exc: Exception) -> Response[str]:
        return self.respond(unsupported_media_type(self.app.current_event.headers.get("content-type", "")))

    def validation(self, exc: ValidationError) -> Response[str]:
        return self.respond(from_validation_error(exc))

    def not_found(self, exc: Exception) -> Response[str]:
        return self.respond(not_found("No such resource or route."))

    def service_error(self, exc: Exception) -> Response[str]:
        code = int(getattr(exc, "status_code", 500))
        status = code if 400 <= code <= 599 else 500
        # 4xx messages are written by us for the client; 5xx text is never shown.
        msg = getattr(exc, "msg", None)
        return self.respond(Problem(status, detail=msg if status < 500 and isinstance(msg, str) else None))

    def undecodable(self, exc: Exception) -> Response[str]:
        return self.respond(bad_request("The request body is not valid UTF-8."))

    def unexpected(self, exc: Exception) -> Response[str]:
        from tradeplane.observability import logger

        state = getattr(exc, "sqlstate", None)
        if isinstance(state, str) and state.startswith("40"):  # rolled back whole by a lock conflict: retryable
            logger.warning("lock conflict reached the route", extra={"sqlstate": state})
            return self.respond(service_unavailable(1, "The request met a concurrent change; retry it."))
        logger.exception("unhandled error in route")
        return self.respond(internal_error())


def register_problem_handlers(app: APIGatewayHttpResolver, *, alpaca: bool = False) -> None:
    """Map every error a route can raise to a problem+json response on `app`."""
    from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
    from aws_lambda_powertools.event_handler.openapi.exceptions import (
        RequestUnsupportedContentType,
        RequestValidationError,
    )

    handlers = _ProblemHandlers(app, alpaca=alpaca)
    app.exception_handler(Problem)(handlers.respond)
    # Handlers are found along the exception's MRO, so the subclass wins over RequestValidationError's.
    app.exception_handler(RequestUnsupportedContentType)(handlers.unsupported_content_type)
    app.exception_handler(RequestValidationError)(handlers.request_validation)
    app.exception_handler(ValidationError)(handlers.validation)
    app.exception_handler(NotFoundError)(handlers.not_found)
    app.exception_handler(ServiceError)(handlers.service_error)
    app.exception_handler(UnicodeDecodeError)(handlers.undecodable)  # a binary body decoded as JSON text
    app.exception_handler(Exception)(handlers.unexpected)
