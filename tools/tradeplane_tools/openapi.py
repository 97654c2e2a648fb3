"""One OpenAPI document for the whole HTTP API, generated from the code of every route function.

    python -m tradeplane_tools.openapi             # write docs/openapi.json (make openapi)
    python -m tradeplane_tools.openapi --check     # exit 1 when docs/openapi.json differs from the code

Each HTTP function of the manifest is imported as Lambda would import it (its
domain folder on the path, its manifest environment with placeholder endpoints:
nothing connects at import), and its Powertools resolver describes its routes
(`enable_validation=True` resolvers know their parameter and response models).
The documents are merged, then completed with what only the platform knows:
the credentials the authorizer accepts (per route, from the manifest), the
gateway's own 401/403 answers, the rate limit's 429 and headers, and RFC 9457
problem bodies for every error (Powertools would describe its own 422 shape).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tradeplane_tools.manifest import (
    DEFAULT_MANIFEST,
    REPO_ROOT,
    FunctionSpec,
    HttpTrigger,
    Manifest,
    environment_for,
    load_manifest,
    placeholder_bindings,
)

__all__ = ["DEFAULT_OUTPUT", "build_document", "main", "render"]

DEFAULT_OUTPUT = REPO_ROOT / "docs" / "openapi.json"
TITLE = "Tradeplane API"
DESCRIPTION = (
    "Tradeplane's HTTP API. `/v2` is Alpaca's Trading API v2 (alpaca-py and alpaca-trade-api work unchanged); "
    "`/v1` is Tradeplane's own surface. Errors are RFC 9457 problem documents; on `/v2` they also carry "
    "Alpaca's integer `code` and `message`."
)
_GATEWAY_ERROR = {
    "type": "object",
    "description": "API Gateway's own error body",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}
_PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details; /v2 routes add Alpaca's `code` and `message`.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "integer", "description": "Alpaca's error code (/v2 routes)"},
        "message": {"type": "string", "description": "Alpaca's error message (/v2 routes)"},
        "errors": {"type": "array", "items": {"type": "object"}},
        "retry_after_s": {"type": "integer"},
    },
    "required": ["type", "title", "status"],
}
_SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "apcaKeyId": {"type": "apiKey", "in": "header", "name": "APCA-API-KEY-ID"},
    "apcaSecretKey": {"type": "apiKey", "in": "header", "name": "APCA-API-SECRET-KEY"},
}
_RATE_LIMIT_HEADERS = {
    "X-Ratelimit-Limit": "Requests allowed per minute",
    "X-Ratelimit-Remaining": "Requests left in the current bucket",
    "X-Ratelimit-Reset": "Epoch seconds when the bucket is full again",
}
_HEADERS = {
    name: {"description": description, "schema": {"type": "string", "pattern": "^[0-9]+$"}}
    for name, description in {**_RATE_LIMIT_HEADERS, "Retry-After": "Seconds to wait before retrying"}.items()
}
# How one operation's answer feeds another (OpenAPI links): for readers, and the paths schemathesis's
# stateful run follows. function -> {link name: (target function, {parameter: runtime expression})}.
_LINKS: dict[str, dict[str, tuple[str, dict[str, str]]]] = {
    "assets_list": {"GetAsset": ("assets_get", {"symbol_or_asset_id": "$response.body#/0/symbol"})},
    "instruments_put": {"GetStoredAsset": ("assets_get", {"symbol_or_asset_id": "$response.body#/assets/0/id"})},
}
_ERROR_DESCRIPTIONS = {
    "400": "The request body is not valid UTF-8 text",
    "401": "No or invalid credentials (answered by the gateway)",
    "403": "The credentials do not allow this (gateway or route)",
    "429": "Rate limit exceeded",
    "500": "Unexpected error (logged; no details shown)",
}


@contextmanager
def _function_environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(env)
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _spec_of(manifest: Manifest, fn: FunctionSpec, root: Path) -> tuple[dict[str, Any], bool]:
    """The function's own OpenAPI document, and whether its routes are rate limited.

    A handler whose route reads its raw body (no body model for Powertools to describe) may declare
    `OPENAPI_EXTRAS = {"POST /path": {"requestBody": ..., "parameters": [...], "components": {...}}}`;
    they are added to its operations here.
    """
    from tradeplane.settings import RateLimitSettings

    domain = str(root / fn.code_root)
    if domain not in sys.path:
        sys.path.insert(0, domain)
    with _function_environment(environment_for(manifest, fn, placeholder_bindings(manifest))):
        module = importlib.import_module(f"{fn.folder}.{fn.module}")
        document = _document_of(module.app)
        limited = isinstance(getattr(module, "SETTINGS", None), RateLimitSettings)
        extras: Mapping[str, Mapping[str, Any]] = getattr(module, "OPENAPI_EXTRAS", {})
    for route, extra in extras.items():
        method, path = route.split(" ", 1)
        operation = document.get("paths", {}).get(path, {}).get(method.lower())
        if operation is None:
            raise ValueError(f"functions.{fn.name}: OPENAPI_EXTRAS names {route}, which it does not serve")
        operation.update({k: v for k, v in extra.items() if k != "components"})
        document.setdefault("components", {}).setdefault("schemas", {}).update(extra.get("components", {}))
    return document, limited


def _document_of(app: Any) -> dict[str, Any]:
    """A Powertools resolver's document, or a FastAPI app's (the strategy service's route functions)."""
    if hasattr(app, "get_openapi_json_schema"):
        return dict(json.loads(app.get_openapi_json_schema(title=TITLE)))
    return dict(app.openapi())


def _problem_content() -> dict[str, Any]:
    return {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _error_content(response: Mapping[str, Any], success: Mapping[str, Any] | None) -> dict[str, Any]:
    """What an error response carries: a problem document unless the route described another body.

    Powertools gives every response a route declares without content the success body's schema, and
    its own 422 shape to validation errors; neither is what the problem handlers send.
    """
    content = dict(response.get("content") or {})
    if not content or content == success or "HTTPValidationError" in json.dumps(content):
        return _problem_content()
    return content


def _rate_limit_headers(status: str) -> dict[str, Any]:
    names = [*_RATE_LIMIT_HEADERS, *(["Retry-After"] if status == "429" else [])]
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _complete_operation(operation: dict[str, Any], trigger: HttpTrigger, limited: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    gateway_auth = trigger.auth == "authorizer"
    operation["security"] = [{"bearer": []}, {"apcaKeyId": [], "apcaSecretKey": []}] if gateway_auth else []
    wanted = ["500", *(["429"] if limited else []), *(["401", "403"] if gateway_auth else [])]
    wanted += ["400"] if "requestBody" in operation else []  # a body that is not UTF-8 text
    for status in wanted:
        responses.setdefault(status, {"description": _ERROR_DESCRIPTIONS[status]})
    # The success body Powertools copies into error responses without content: 200, else 201/202.
    success = next((responses[s].get("content") for s in ("200", "201", "202") if s in responses), None)
    for status, response in responses.items():
        if int(status) >= 400:
            response["content"] = _error_content(response, success)
        if gateway_auth and status in ("401", "403"):  # the gateway answers these with {"message"}
            response["content"]["application/json"] = {"schema": {"$ref": "#/components/schemas/GatewayError"}}
        if limited and (int(status) < 300 or status == "429"):
            response["headers"] = _rate_limit_headers(status)


def _add_links(paths: Mapping[str, Any]) -> None:
    operations = {op["operationId"]: op for ops in paths.values() for op in ops.values()}
    for source, links in _LINKS.items():
        found = {
            name: {"operationId": target, "parameters": parameters}
            for name, (target, parameters) in links.items()
            if target in operations
        }
        if source in operations and found:
            operations[source]["responses"]["200"]["links"] = found


def _merge_schemas(into: dict[str, Any], schemas: Mapping[str, Any], where: str) -> None:
    for name, schema in schemas.items():
        if name in into and into[name] != schema:
            raise ValueError(f"{where}: schema {name!r} differs from another function's schema of that name")
        into[name] = schema


def _unreferenced(document: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    text = json.dumps(document["paths"]) + json.dumps(
        {k: v for k, v in document["components"]["schemas"].items() if k not in names}
    )
    return [n for n in names if f'"#/components/schemas/{n}"' not in text]


def build_document(manifest_path: Path = DEFAULT_MANIFEST) -> dict[str, Any]:
    """The merged OpenAPI document of every HTTP function in the manifest."""
    from importlib.metadata import version

    manifest = load_manifest(manifest_path)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Problem": _PROBLEM, "GatewayError": _GATEWAY_ERROR}
    for trigger, fn in sorted(manifest.routes(), key=lambda r: (r[0].path, r[0].method)):
        spec, limited = _spec_of(manifest, fn, manifest_path.parent)
        operation = spec.get("paths", {}).get(trigger.path, {}).get(trigger.method.lower())
        if operation is None:
            raise ValueError(f"functions.{fn.name}: its resolver has no route {trigger.method} {trigger.path}")
        operation["operationId"] = fn.name
        _complete_operation(operation, trigger, limited)
        paths.setdefault(trigger.path, {})[trigger.method.lower()] = operation
        _merge_schemas(schemas, spec.get("components", {}).get("schemas", {}), f"functions.{fn.name}")
    _add_links(paths)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": version("tradeplane"), "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": _SECURITY_SCHEMES, "headers": _HEADERS},
    }
    for name in _unreferenced(document, ("HTTPValidationError", "ValidationError", "ResponseValidationError")):
        del schemas[name]
    return document


def render(document: Mapping[str, Any]) -> str:
    """The committed text: stable key order, two-space indent, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tradeplane_tools.openapi", description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="fail if --out differs from the code")
    args = parser.parse_args(argv)
    text = render(build_document(args.manifest))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != text:
            print(f"{args.out} is out of date: run `make openapi`", file=sys.stderr)  # noqa: T201
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text)} bytes)")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
