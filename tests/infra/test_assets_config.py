"""Asset build results, Lambda limits and config loading (fast; the asset build runs once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tradeplane_tools.manifest import load_manifest

from .conftest import FIXTURE_MANIFEST

pytestmark = [pytest.mark.infra, pytest.mark.slow]


def test_real_assets_are_built_for_every_function_and_layer(fixture_assets: Path) -> None:
    from tradeplane_infra.assets import AssetIndex

    index = AssetIndex.load(fixture_assets, FIXTURE_MANIFEST)
    manifest = load_manifest(FIXTURE_MANIFEST)
    assert set(index.functions) == set(manifest.functions)
    assert set(index.layers) == set(manifest.layers)
    for fn in manifest.functions.values():
        assert (index.function_dir(fn.name) / fn.folder / "handler.py").is_file()
    # One code asset per domain, shared by its functions.
    assert len(set(index.functions.values())) == len(manifest.domains())
    shipped = index.layer_dir("shared") / "python" / "tradeplane"
    assert (shipped / "envelope.py").is_file()
    # Deploy-time tooling never ships to Lambda.
    assert not (shipped / "manifest.py").exists() and not (shipped / "migrate.py").exists()
    assert not list(index.layer_dir("shared").rglob("__pycache__"))
    base = index.layer_dir("deps-base") / "python"
    assert (base / "jwt").is_dir()
    # deps-kafka asks for pyjwt too, but every function with deps-kafka also has deps-base
    kafka = index.layer_dir("deps-kafka") / "python"
    assert (kafka / "redis").is_dir() and not (kafka / "jwt").exists()
    assert all(size > 0 for size in index.sizes.values())


def test_limits_catch_oversized_functions() -> None:
    from tradeplane_infra.assets import UNZIPPED_LIMIT, limit_problems

    manifest = load_manifest(FIXTURE_MANIFEST)
    sizes = {f"layer:{name}": 1 for name in manifest.layers} | {f"function:{n}": 1 for n in manifest.functions}
    assert limit_problems(manifest, sizes) == []
    sizes["layer:deps-kafka"] = UNZIPPED_LIMIT
    problems = limit_problems(manifest, sizes)
    users = [f.name for f in manifest.functions.values() if "deps-kafka" in manifest.layers_of(f)]
    assert sorted(p.split(":")[0] for p in problems) == sorted(users)


def test_dependency_layer_dedup_only_when_always_present() -> None:
    from tradeplane_infra.assets import provided_before

    manifest = load_manifest(FIXTURE_MANIFEST)
    assert provided_before(manifest, "deps-kafka") == ["shared", "deps-base"]
    assert provided_before(manifest, "deps-base") == ["shared"]


def test_config_overrides_from_context() -> None:
    from tradeplane_infra.config import load_config

    cfg = load_config(
        "dev",
        {"tp:api.allowlist_cidrs": "203.0.113.0/24", "tp:kafka.brokers": "4", "tp:api.cloudfront": "true"},
    )
    assert cfg.api.allowlist_cidrs == ("203.0.113.0/24",)
    assert cfg.kafka.brokers == 4 and cfg.api.cloudfront is True
    with pytest.raises(ValueError, match="no config"):
        load_config("qa")


def test_batching_window_and_retention_mapping() -> None:
    from tradeplane_infra.deployment import retention
    from tradeplane_infra.triggers import batching_window_seconds

    assert batching_window_seconds(100) is None  # AWS default 500 ms is the nearest it offers
    assert batching_window_seconds(2000) == 2
    with pytest.raises(ValueError):
        retention(10)
