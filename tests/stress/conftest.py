"""The stress suite: long conservation runs with kills, selected by `make test-stress` (TP_STRESS=1).

Tests marked `stress` are deselected otherwise, so `make test` runs only the short versions beside them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tradeplane_local.kafka_chaos import ChaosDriver, chaos_driver
from tradeplane_local.runtime import RuntimeConfig


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "stress: long run with kills; only under `make test-stress` (TP_STRESS=1)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("TP_STRESS") == "1":
        return
    long_runs = [item for item in items if item.get_closest_marker("stress")]
    if long_runs:
        config.hook.pytest_deselected(items=long_runs)
        items[:] = [item for item in items if not item.get_closest_marker("stress")]


@pytest.fixture(scope="module")
def driver(
    request: pytest.FixtureRequest,
    pg_dsn: str,
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ChaosDriver]:
    """The manifest's bar_aggregator on the local runtime, against the harness's Postgres, Redis and Kafka.

    A test module may set CONTAINERS (the runtime's cap on the function's containers; its reserved
    concurrency still applies). The chaos timing is random per run; TP_CHAOS_SEED=<seed from a report>
    replays one."""
    state: Path = tmp_path_factory.mktemp("chaos")
    seed = int(os.environ["TP_CHAOS_SEED"]) if os.environ.get("TP_CHAOS_SEED") else None
    containers = getattr(request.module, "CONTAINERS", RuntimeConfig.max_concurrency)
    with chaos_driver(state, pg_dsn, kafka_bootstrap, redis_url, seed, max_concurrency=containers) as d:
        yield d
