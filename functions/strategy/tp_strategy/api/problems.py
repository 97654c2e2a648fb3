"""Every error a FastAPI route can raise, answered as the platform's RFC 9457 problem (`tradeplane.problems`).

FastAPI would answer validation errors with its own `{"detail": [...]}` and unexpected errors with a
plain-text 500; Core routes answer both as problem documents, and so do these. No exception text
reaches a client: a 500 is logged with the correlation id and answered with a generic problem.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from tradeplane.observability import logger
from tradeplane.problems import (
    PROBLEM_CONTENT_TYPE,
    Problem,
    field_errors,
    from_validation_error,
    internal_error,
    not_found,
    unprocessable,
)

__all__ = ["problem_json", "register_problem_handlers"]


def problem_json(problem: Problem, request: Request) -> Response:
    if problem.instance is None:
        problem.instance = request.url.path
    if problem.status >= 500:
        logger.error("problem response", extra={"status": problem.status, "title": problem.title})
    return Response(problem.to_json(), problem.status, problem.response_headers(), PROBLEM_CONTENT_TYPE)


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_json(exc, request)


async def _request_validation(request: Request, exc: Exception) -> Response:
    errors: list[Any] = list(getattr(exc, "errors", list)())
    return problem_json(unprocessable("The request is not valid.", errors=field_errors(errors)), request)


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return problem_json(from_validation_error(exc), request)


async def _http(request: Request, exc: Exception) -> Response:
    status = int(getattr(exc, "status_code", 500))
    if status == 404:
        return problem_json(not_found("No such resource or route."), request)
    if 400 <= status < 500:
        detail = getattr(exc, "detail", None)
        return problem_json(Problem(status, detail=detail if isinstance(detail, str) else None), request)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error in route")
    return problem_json(internal_error(), request)


def register_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(ValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
