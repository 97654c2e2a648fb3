"""One dependency layer built from the lock, with every function that uses it, against Lambda's unzipped limit."""

from __future__ import annotations

from pathlib import Path

from tradeplane_tools.manifest import load_manifest

from .conftest import REAL_MANIFEST


def assert_layer_users_fit(layer: str, users: list[str], tmp_path: Path, *, at_least_mb: int) -> dict[str, int]:
    """Builds the functions using `layer` (they must be `users`) and checks each one's total; returns the totals."""
    from tradeplane_infra.assets import UNZIPPED_LIMIT, build, limit_problems

    manifest = load_manifest(REAL_MANIFEST)
    found = sorted(f.name for f in manifest.functions.values() if layer in manifest.layers_of(f))
    assert found == users
    index = build(REAL_MANIFEST, tmp_path, log=False, only=users)  # raises AssetError over a limit
    assert index.sizes[f"layer:{layer}"] > at_least_mb * 2**20  # really built
    assert limit_problems(manifest, index.sizes) == []
    totals = {}
    for name in users:
        layers = manifest.layers_of(manifest.functions[name])
        totals[name] = index.sizes[f"function:{name}"] + sum(index.sizes[f"layer:{x}"] for x in layers)
        assert totals[name] < UNZIPPED_LIMIT, (name, totals[name])
    return totals
