"""docs/openapi.json is generated from the route code: it must not drift, and it must describe every route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tradeplane_tools.manifest import DEFAULT_MANIFEST, REPO_ROOT, load_manifest
from tradeplane_tools.openapi import DEFAULT_OUTPUT, build_document, main, render


@pytest.fixture(scope="module")
def generated() -> Iterator[dict[str, Any]]:
    from support.reset import reset_all

    yield build_document()
    reset_all()


def test_committed_document_matches_the_code(generated: dict[str, Any]) -> None:
    committed = DEFAULT_OUTPUT.read_text(encoding="utf-8")
    assert committed == render(generated), "docs/openapi.json is out of date: run `make openapi`"


def test_every_http_route_of_the_manifest_is_documented(generated: dict[str, Any]) -> None:
    manifest = load_manifest(DEFAULT_MANIFEST)
    documented = {(p, m.upper()): op["operationId"] for p, ops in generated["paths"].items() for m, op in ops.items()}
    assert documented == {(t.path, t.method): fn.name for t, fn in manifest.routes()}


def test_routes_behind_the_authorizer_declare_credentials(generated: dict[str, Any]) -> None:
    assets = generated["paths"]["/v2/assets"]["get"]
    assert {"bearer": []} in assets["security"] and {"apcaKeyId": [], "apcaSecretKey": []} in assets["security"]
    assert generated["paths"]["/v1/health"]["get"]["security"] == []


def test_errors_are_problem_documents_and_rate_limits_documented(generated: dict[str, Any]) -> None:
    responses = generated["paths"]["/v2/calendar"]["get"]["responses"]
    assert "application/problem+json" in responses["422"]["content"]
    assert set(responses["429"]["headers"]) == {
        "Retry-After",
        "X-Ratelimit-Limit",
        "X-Ratelimit-Remaining",
        "X-Ratelimit-Reset",
    }
    assert "HTTPValidationError" not in json.dumps(generated)
    asset = generated["components"]["schemas"]["Asset"]
    assert "class" in asset["required"] and "asset_class" not in asset["properties"]


def test_check_mode_fails_on_drift(tmp_path: Path, generated: dict[str, Any]) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text(render({**generated, "paths": {}}), encoding="utf-8")
    assert main(["--check", "--out", str(stale)]) == 1
    assert main(["--out", str(stale)]) == 0 and main(["--check", "--out", str(stale)]) == 0


def test_the_platform_asset_ships_the_committed_file() -> None:
    shipped = REPO_ROOT / "functions" / "platform" / "tp_platform" / "openapi.json"
    assert shipped.is_symlink() and shipped.resolve() == DEFAULT_OUTPUT.resolve()
