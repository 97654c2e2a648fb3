"""What the strategy functions import at init: the modules a function's layers lack, or its route never uses,
stay out (numpy is only in the backtest functions' `deps-numpy` layer; the engine is not a route's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PATH = [str(ROOT / "functions" / "strategy"), str(ROOT / "layers" / "shared")]


def _imported_after(modules: list[str]) -> set[str]:
    """The modules a fresh interpreter holds after importing `modules` (a fresh one: this test process has
    imported everything already)."""
    code = (
        f"import sys; sys.path[:0] = {PATH!r}\n"
        + "".join(f"import {m}\n" for m in modules)
        + "import json; print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return set(json.loads(out.stdout))


@pytest.mark.parametrize(
    "modules",
    [
        ["tp_strategy.runner", "tp_strategy.registry"],  # the live runner: no numpy in its layers
        ["tp_strategy.sweeps", "tp_strategy.api.job_models"],  # the sweep routes
        ["tp_strategy.catalog", "tp_strategy.activity", "tp_strategy.pnl", "tp_strategy.backtest_jobs"],
    ],
)
def test_route_and_runner_modules_import_neither_numpy_nor_the_engine(modules: list[str]) -> None:
    loaded = _imported_after(modules)
    assert "numpy" not in loaded
    assert not {m for m in loaded if m.startswith("tp_strategy.backtest.") or m == "tp_strategy.sweep"}


def test_the_catalog_reads_leave_the_registry_and_the_other_routes_models_out() -> None:
    loaded = _imported_after(["tp_strategy.catalog", "tp_strategy.api.app", "tp_strategy.api.auth"])
    assert "tp_strategy.api.models" in loaded
    assert not {"tp_strategy.api.job_models", "tp_strategy.api.activity_models", "tp_strategy.registry"} & loaded


def test_routes_that_check_parameters_import_the_registry_at_init() -> None:
    assert "tp_strategy.registry" in _imported_after(["tp_strategy.authoring"])


def test_the_backtest_engine_still_runs_the_fast_path_with_numpy() -> None:
    loaded = _imported_after(["tp_strategy.backtest"])
    assert "numpy" in loaded  # a check that the first test can fail: the engine does import it
