"""The manifest validator rejects bad entries with messages naming the function and field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from tradeplane_tools.manifest import (
    DEFAULT_MANIFEST,
    Bindings,
    ManifestError,
    environment_for,
    load_manifest,
    parse_manifest,
)

BASE: dict[str, Any] = {
    "layers": {
        "shared": {"kind": "source", "source": "layers/shared"},
        "deps-base": {"kind": "dependencies", "packages": ["pydantic"]},
    },
    "topics": {"market.ticks": {"key": "symbol", "partitions": 3}},
    "secrets": {"jwt": {}},
    "buckets": {"drops": {}},
    "functions": {
        "authorizer": {"component": "core", "path": "core/authorizer", "triggers": [{"type": "authorizer"}]},
        "ingest": {
            "component": "etl",
            "path": "etl/ingest",
            "uses": {"produces": ["market.ticks"]},
            "triggers": [{"type": "http", "method": "POST", "path": "/v1/market-data"}],
        },
        "agg": {
            "component": "etl",
            "path": "etl/agg",
            "triggers": [{"type": "kafka", "topic": "market.ticks", "group": "agg"}],
        },
    },
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = data
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    node[last] = value
    return data


def problems(data: dict[str, Any]) -> str:
    with pytest.raises(ManifestError) as exc:
        parse_manifest(data)
    return str(exc.value)


def test_base_is_valid_and_derives_dead_letter_topics() -> None:
    m = parse_manifest(BASE)
    assert m.function("agg").name == "agg"
    assert set(m.all_topics()) == {"market.ticks", "dlq.agg"}
    assert m.all_topics()["dlq.agg"].partitions == 3
    assert m.memory_of(m.function("agg")) == 256 and m.timeout_of(m.function("agg")) == 10


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("functions.agg.memory", 64, "functions.agg.memory"),
        ("functions.agg.timeout", 901, "functions.agg.timeout"),
        ("functions.agg.component", "Not A Domain", "functions.agg.component"),
        ("functions.agg.component", "core", "must be inside the component's folder"),
        ("functions.agg.layers", ["shared", "ghost"], "functions.agg.layers: unknown layer 'ghost'"),
        ("functions.agg.layers", ["shared"] * 6, "functions.agg.layers: 6 layers, Lambda allows 5"),
        ("functions.agg.environment", {"AWS_REGION": "x"}, "reserved by AWS Lambda"),
        ("functions.agg.environment", {"1BAD": "x"}, "not a valid environment variable name"),
        (
            "functions.agg.triggers",
            [{"type": "kafka", "topic": "nope", "group": "g"}],
            "functions.agg.triggers[0].topic: unknown topic 'nope'",
        ),
        (
            "functions.agg.triggers",
            [{"type": "kafka", "topic": "market.ticks", "group": "g", "batch_size": 0}],
            "functions.agg.triggers.0.kafka.batch_size",
        ),
        ("functions.agg.triggers", [{"type": "schedule", "expression": "every minute"}], "rate(N"),
        ("functions.agg.triggers", [{"type": "carrier-pigeon"}], "functions.agg.triggers.0"),
        (
            "functions.agg.triggers",
            [{"type": "http", "method": "POST", "path": "/v1/market-data"}],
            "route POST /v1/market-data is also ingest's",
        ),
        (
            "functions.agg.triggers",
            [{"type": "http", "method": "GET", "path": "/nov1"}],
            "functions.agg.triggers.0.http.path",
        ),
        ("functions.agg.triggers", [{"type": "s3", "bucket": "missing"}], "unknown bucket 'missing'"),
        ("functions.agg.uses", {"produces": ["ghost.topic"]}, "functions.agg.uses.produces: unknown topic"),
        ("functions.agg.uses", {"secrets": ["ghost"]}, "functions.agg.uses.secrets: unknown secret 'ghost'"),
        ("functions.agg.uses", {"calls": ["agg"]}, "is not a function with an HTTP route"),
        ("functions.agg.surprise", 1, "functions.agg.surprise: Extra inputs are not permitted"),
        ("functions.agg.timeout", 60, None),  # a consumer may run long
        ("functions.ingest.timeout", 60, "functions.ingest.timeout: 60 s exceeds the HTTP API's 30 s"),
    ],
)
def test_bad_entries_are_named(path: str, value: Any, expected: str | None) -> None:
    data = with_change(path, value)
    if expected is None:
        parse_manifest(data)
        return
    assert expected in problems(data)


def test_route_needing_authorizer_without_one() -> None:
    data = copy.deepcopy(BASE)
    del data["functions"]["authorizer"]
    assert "functions.ingest.triggers[0].auth: route needs an authorizer" in problems(data)


def test_missing_handler_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "manifest.toml").write_text(
        '[layers.shared]\nkind = "source"\nsource = "layers/shared"\n'
        '[functions.lost]\ncomponent = "test"\npath = "lost"\nlayers = ["shared"]\n'
    )
    with pytest.raises(ManifestError, match=r"functions.lost.handler: .*lost/handler.py does not exist"):
        load_manifest(tmp_path / "manifest.toml")


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    (tmp_path / "manifest.toml").write_text("[functions\n")
    with pytest.raises(ManifestError, match="not valid TOML"):
        load_manifest(tmp_path / "manifest.toml")


def test_project_manifest_is_valid() -> None:
    m = load_manifest(DEFAULT_MANIFEST)
    assert m.authorizer() is not None
    assert {t.path for t, _ in m.routes()} >= {"/v1/health", "/v1/market-data"}


def test_environment_names_come_from_uses() -> None:
    m = parse_manifest(BASE)
    b = Bindings(
        stage="local",
        db_dsn="postgresql://x",
        redis_url="redis://r",
        kafka_bootstrap="k:9092",
        secret_ids={"jwt": "tp/jwt"},
        bucket_names={"drops": "b-drops"},
    )
    ingest = environment_for(m, m.function("ingest"), b)
    assert ingest["TP_KAFKA_BOOTSTRAP"] == "k:9092" and ingest["TP_KAFKA_SECURITY"] == "plaintext"
    assert "TP_DB_DSN" not in ingest and "TP_REDIS_URL" not in ingest and "TP_SECRET_JWT" not in ingest
    assert ingest["POWERTOOLS_SERVICE_NAME"] == "etl" and ingest["TP_FUNCTION"] == "ingest"


def test_a_secret_family_becomes_a_prefix_variable_with_the_stage() -> None:
    from tradeplane_tools.manifest import DEFAULT_MANIFEST, load_manifest

    m = load_manifest(DEFAULT_MANIFEST)
    for stage in ("local", "prod"):
        env = environment_for(m, m.function("reconciler"), Bindings(stage=stage))
        assert env["TP_SECRET_PREFIX_VENUES"] == f"tradeplane/{stage}/venues/"
    assert "TP_SECRET_PREFIX_VENUES" not in environment_for(m, m.function("order_matcher"), Bindings(stage="local"))


def test_contract_topics_are_the_manifest_topics() -> None:
    from tradeplane.contracts import topics
    from tradeplane_tools.manifest import DEFAULT_MANIFEST, load_manifest

    assert set(load_manifest(DEFAULT_MANIFEST).topics) == topics.ALL


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/v1/accounts/{account_id}", True),
        ("/v2/orders", True),
        ("/v2/orders:by_client_order_id", True),  # API Gateway HTTP APIs take ':' as a literal
        ("/v3/orders", False),
        ("/v2/orders?x=1", False),
        ("v2/orders", False),
    ],
)
def test_http_paths_are_v1_or_v2(path: str, ok: bool) -> None:
    from pydantic import ValidationError
    from tradeplane_tools.manifest import HttpTrigger

    if ok:
        assert HttpTrigger(type="http", method="GET", path=path).path == path
    else:
        with pytest.raises(ValidationError):
            HttpTrigger(type="http", method="GET", path=path)
