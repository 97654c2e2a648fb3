"""The request checks every HTTP route runs before its resolver sees the event.

Powertools validates a body against the route's model, but what cannot be
decoded at all (a media type we do not speak, bytes that are not UTF-8, JSON
nested deep enough to exhaust the parser's stack, numbers too long to convert)
raises from inside the parser and would surface as a 500. These checks answer
such requests with a 4xx problem instead, before any route code runs, so a
refusal never has side effects.

    app = api_resolver(SETTINGS)   # tradeplane.http_api runs check_request before routing
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from tradeplane.problems import Problem, bad_request, unsupported_media_type

__all__ = ["MAX_JSON_DEPTH", "check_request"]

# Our request models nest three levels (batch -> ticks -> tick); 32 leaves room and stops stack bombs early.
MAX_JSON_DEPTH = 32
JSON_MEDIA_TYPES = ("application/json",)


def _is_json(content_type: str) -> bool:
    media, _, params = content_type.partition(";")
    if media.strip().lower() not in JSON_MEDIA_TYPES:
        return False
    charset = next((p.split("=", 1)[1].strip().strip('"').lower() for p in params.split(";") if "=" in p), "utf-8")
    return charset in ("utf-8", "utf8")


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(node, dict):
            stack.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, level + 1) for child in node)
    return deepest


def _decoded(event: Mapping[str, Any]) -> str:
    body = str(event.get("body") or "")
    raw = body.encode()
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True)
        except binascii.Error:
            raise bad_request("The body is not valid base64.") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("The body is not valid UTF-8.") from None


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise bad_request(f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.") from None
    except ValueError:  # JSONDecodeError, and integers longer than Python converts
        raise bad_request("The body is not valid JSON.") from None


def _media(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def check_request(event: Mapping[str, Any], text_types: tuple[str, ...] = ()) -> Problem | None:
    """A problem for a request no route could decode, or None when the body can be handed on.

    `text_types` are further media types the route reads itself (e.g. `text/csv`): their body only
    has to decode as UTF-8 text.
    """
    if not event.get("body"):
        return None
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "")
    if text_types and _media(content_type) in text_types:
        try:
            _decoded(event)
        except Problem as problem:
            return problem
        return None
    if not _is_json(content_type):
        return unsupported_media_type(content_type, accepted=("application/json", *text_types))
    try:
        if _depth(_parsed(_decoded(event))) > MAX_JSON_DEPTH:
            return bad_request(f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.")
    except Problem as problem:
        return problem
    return None
