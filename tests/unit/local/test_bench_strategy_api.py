"""The strategy API init bench's comparison functions start: the one-app router and the bare hello (a broken
comparison function used to print only "init failed")."""

from __future__ import annotations

import pytest
from tradeplane_local.bench import BENCH_MANIFEST, sample_inits
from tradeplane_tools.manifest import load_manifest


@pytest.mark.slow
def test_the_full_router_and_the_hello_start_in_a_fresh_process() -> None:
    bench = load_manifest(BENCH_MANIFEST)
    names = ("fastapi_hello", "strategy_full_router")
    samples = sample_inits([(bench, bench.function(n), BENCH_MANIFEST) for n in names], rounds=1)
    for name in names:
        assert not samples[name].failed, samples[name].failed
        assert len(samples[name].cpu_ms) == 2 and min(samples[name].cpu_ms) > 0
