"""The app's OpenAPI document as the platform's merged spec expects it (`tradeplane_tools.openapi`).

FastAPI describes its own 422 body (`HTTPValidationError`); these routes answer problem documents,
so the 422s reference the platform's `Problem` schema (added by the merge) and FastAPI's error
schemas are dropped, leaving nothing that clashes with another function's schema of that name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")
PROBLEM_REF = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def problem_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes)
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    for status, response in operation.get("responses", {}).items():
                        if int(status) >= 400:
                            response["content"] = dict(PROBLEM_REF)
            schemas = document.get("components", {}).get("schemas", {})
            for name in _FASTAPI_ERRORS:
                schemas.pop(name, None)
            app.openapi_schema = document
        return app.openapi_schema

    return openapi
