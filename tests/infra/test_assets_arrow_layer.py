"""The real deps-arrow layer, built from the lock, fits Lambda's 250 MB with every layer of each function using it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tradeplane_tools.manifest import load_manifest

from .conftest import REAL_MANIFEST

pytestmark = [pytest.mark.infra, pytest.mark.slow]
ARROW = "deps-arrow"


def test_functions_with_the_arrow_layer_stay_under_the_unzipped_limit(tmp_path: Path) -> None:
    from tradeplane_infra.assets import UNZIPPED_LIMIT, build, limit_problems

    manifest = load_manifest(REAL_MANIFEST)
    users = sorted(f.name for f in manifest.functions.values() if ARROW in manifest.layers_of(f))
    assert users == ["ingest_http", "ingest_s3"]
    index = build(REAL_MANIFEST, tmp_path, log=False, only=users)  # raises AssetError over a limit
    assert index.sizes[f"layer:{ARROW}"] > 20 * 2**20  # really built: pyarrow's libraries
    assert limit_problems(manifest, index.sizes) == []
    for name in users:
        layers = manifest.layers_of(manifest.functions[name])
        total = index.sizes[f"function:{name}"] + sum(index.sizes[f"layer:{layer}"] for layer in layers)
        print(name, total / 2**20, "MB unzipped")
        assert total < UNZIPPED_LIMIT, (name, total)
