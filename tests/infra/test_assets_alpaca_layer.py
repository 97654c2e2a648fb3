"""The real deps-alpaca layer, built from the lock, fits Lambda's 250 MB with every layer of each function using it.

alpaca-py pulls pandas and numpy (~90 MB unzipped); `deps-calendar` carries another copy for
exchange_calendars, so a function with both would be over the limit: that is why the executor
holds opg/cls orders and `order_expiry` (which has the calendar) executes them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tradeplane_tools.manifest import load_manifest

from .conftest import REAL_MANIFEST

pytestmark = [pytest.mark.infra, pytest.mark.slow]
ALPACA = "deps-alpaca"


def test_functions_with_the_alpaca_layer_stay_under_the_unzipped_limit(tmp_path: Path) -> None:
    from tradeplane_infra.assets import UNZIPPED_LIMIT, build, limit_problems

    manifest = load_manifest(REAL_MANIFEST)
    users = sorted(f.name for f in manifest.functions.values() if ALPACA in manifest.layers_of(f))
    assert users == ["executor", "reconciler", "venue_follower"]
    index = build(REAL_MANIFEST, tmp_path, log=False, only=users)  # raises AssetError over a limit
    assert index.sizes[f"layer:{ALPACA}"] > 20 * 2**20  # really built: alpaca-py, pandas, numpy
    assert limit_problems(manifest, index.sizes) == []
    for name in users:
        layers = manifest.layers_of(manifest.functions[name])
        total = index.sizes[f"function:{name}"] + sum(index.sizes[f"layer:{layer}"] for layer in layers)
        assert total < UNZIPPED_LIMIT, (name, total)
