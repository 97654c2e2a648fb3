"""Init of the strategy API's FastAPI route functions against a bare FastAPI + Mangum hello (goal at most 1.3x).

Measured in fresh processes, round-robin, first round dropped, ratio on CPU time (as `bench_init`).
Beside them, the alternative the API did not take: one app holding every strategy route
(`bench/functions/strategy_full_router`), which each function would then pay at init; and the
platform's Powertools hello, for scale.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

from tradeplane_tools.manifest import DEFAULT_MANIFEST, load_manifest

from tradeplane_local.bench import BENCH_MANIFEST, sample_inits

Row = Callable[..., None]


def bench_strategy_api(quick: bool, row: Row, header: Callable[[str], None]) -> None:
    rounds = 2 if quick else 5
    header(f"strategy API init (median of {rounds} rounds; ratio on CPU time vs a bare FastAPI + Mangum hello)")
    manifest, bench = load_manifest(DEFAULT_MANIFEST), load_manifest(BENCH_MANIFEST)
    targets = [
        (bench, bench.function(n), BENCH_MANIFEST) for n in ("fastapi_hello", "hello_http", "strategy_full_router")
    ]
    targets += [
        (manifest, fn, DEFAULT_MANIFEST) for fn in manifest.functions.values() if "deps-web" in manifest.layers_of(fn)
    ]
    samples = sample_inits(targets, rounds)
    base = statistics.median(samples["fastapi_hello"].cpu_ms[1:])
    worst = 0.0
    for name, got in samples.items():
        if got.failed or len(got.cpu_ms) < 2:
            print(f"  {name}: init failed: {got.failed}")  # noqa: T201 (a bench report)
            continue
        cpu, wall = statistics.median(got.cpu_ms[1:]), statistics.median(got.wall_ms[1:])
        if name not in ("fastapi_hello", "hello_http", "strategy_full_router"):
            worst = max(worst, cpu / base)
        row(name, f"{cpu:.0f} ms cpu", f"{base:.0f} ms", f"{cpu / base:.2f}x", f"wall {wall:.0f} ms")
    row("worst route function", f"{worst:.2f}x", "", "goal <= 1.30x", "met" if worst <= 1.3 else "NOT met")
