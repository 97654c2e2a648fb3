"""What the logging routes answer: JSON that no cache keeps (log lines can name accounts and orders)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types


def no_store(body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(200, content_types.APPLICATION_JSON, body, headers={"Cache-Control": "no-store"})
