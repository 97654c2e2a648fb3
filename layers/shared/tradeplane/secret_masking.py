"""Mask secrets in a log record before it is written (docs/logging.md, "Secret masking").

Two nets, both applied to every record the platform logger writes:
- by key: a field whose name says it holds a secret (password, token, secret, authorization,
  cookie, private key, ...) is replaced whole, whatever its value;
- by shape, inside any string: JWTs, `Bearer`/`Basic` credentials, passwords inside connection
  URLs (`postgresql://user:pw@host`), `password=...` style pairs (libpq keyword DSNs, query
  strings, `"secret": "..."` inside JSON text), and Alpaca's secret key header.

A line whose serialised text contains none of the markers is written as is (the fast path:
a few substring checks); only the others are walked field by field.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MASK", "mask_record", "mask_text", "may_hold_secret", "sensitive_key"]

MASK = "***"

# A key that names a secret as a whole word (snake, kebab or camel case is lowered first):
# password, db_password, refresh_token, client-secret, apca-api-secret-key, authorization, cookie.
# Not key ids (`api_key_id`, `kid`): they name a credential without being one.
_SECRET_NAMES = r"(password|passwd|pwd|passphrase|secret|token|authorization|cookie|credentials?|private_key)"  # noqa: S105 - names, not a value
_SENSITIVE_KEY = re.compile(rf"(^|[_\-.]){_SECRET_NAMES}([_\-.]|s?$)")
_NOT_SECRET_KEYS = frozenset({"token_use", "token_type", "secret_id", "db_secret_id", "redis_auth_secret_id"})

_JWT = r"eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*"
_SCHEME_AUTH = r"(?P<scheme>\b(?:Bearer|Basic))\s+(?P<cred>[A-Za-z0-9._~+/=-]{6,})"
_URL_CREDENTIAL = r"(?P<url>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@\s]*:)(?P<urlpw>[^@/\s]+)(?=@)"
# name=value or name: value (also quoted JSON members) where the name contains a secret word.
_PAIR = (
    r"(?P<name>[\"']?[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key)[A-Za-z0-9_.-]*[\"']?"
    r"\s*[=:]\s*)(?P<quote>[\"'])?(?P<value>(?(quote)[^\"'\n]*|[^\s&,;\"'}]+))"
)
_PATTERN = re.compile("|".join(f"(?:{p})" for p in (_JWT, _SCHEME_AUTH, _URL_CREDENTIAL, _PAIR)), re.IGNORECASE)
# Cheap pre-check: every pattern above (and every secret key name) needs one of these substrings.
_MARKERS = ("eyj", "bearer", "basic", "://", "pass", "pwd", "secret", "token", "key", "authorization", "cookie", "cred")


@functools.lru_cache(maxsize=4096)  # a logger uses the same few dozen keys over and over
def sensitive_key(name: str) -> bool:
    """True when a field called `name` holds a secret as a whole."""
    lowered = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return lowered not in _NOT_SECRET_KEYS and _SENSITIVE_KEY.search(lowered) is not None


def _replace(match: re.Match[str]) -> str:
    groups = match.groupdict()
    if groups.get("scheme"):
        return f"{groups['scheme']} {MASK}"
    if groups.get("url"):
        return f"{groups['url']}{MASK}"
    if groups.get("name") is not None:
        if not groups.get("value"):
            return match.group(0)  # `password=` with nothing after it: nothing to hide
        return f"{groups['name']}{groups['quote'] or ''}{MASK}"
    return MASK  # a JWT


def may_hold_secret(text: str) -> bool:
    """False when `text` cannot hold a secret the maskers recognise (substring checks: a few us per line)."""
    lowered = text.lower()
    return any(marker in lowered for marker in _MARKERS)


def mask_text(text: str) -> str:
    """`text` with every secret it visibly carries replaced by `***`."""
    if not may_hold_secret(text):
        return text
    return _PATTERN.sub(_replace, text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return mask_record(value)
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_text(str(value))  # what the JSON serialiser would write (its default is str), masked


def mask_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `record` with secret fields replaced and secrets inside strings masked (nested too)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if value is not None and not isinstance(value, bool) and sensitive_key(str(key)):
            out[key] = MASK
        else:
            out[key] = _mask_value(value)
    return out
