"""Answers the routes document beside their success (the merged OpenAPI gives each a problem body)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

__all__ = ["CONFLICT", "NOT_FOUND", "UNAVAILABLE", "mark_replayed", "replayed"]

Responses = dict[int | str, dict[str, Any]]

NOT_FOUND: Responses = {404: {"description": "Not the caller's (another account's is 404 too), or no such id"}}
CONFLICT: Responses = {409: {"description": "The name is taken by another definition, or the version moved on"}}
UNAVAILABLE: Responses = {503: {"description": "The job was stored but could not be started; retry"}}


def replayed(model: type[Any]) -> Responses:
    """A retried create (same definition or Idempotency-Key): the stored resource, `Idempotent-Replayed: true`."""
    return {200: {"model": model, "description": "A retry: the stored resource (header Idempotent-Replayed: true)"}}


def mark_replayed(response: Response, replayed: bool) -> None:
    """A retried create answers 200 (not 201/202) with `Idempotent-Replayed: true`, as Core's POST routes do."""
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
