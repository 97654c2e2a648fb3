"""Issue 16: a container killed while all six partitions of `market.ticks` have a batch in flight.

The manifest's `bar_aggregator` (reserved concurrency 6) runs with six containers. Ticks of 36 symbols
(keyed by symbol, so every partition gets some) arrive while a container is SIGKILLed once six are in an
invocation. Every acknowledged tick must be aggregated exactly once or dead-lettered: nothing lost, and
the redeliveries that at-least-once allows are absorbed by the function's inbox (only records of a failed
invocation come again, and bars count each tick once).
"""

from __future__ import annotations

import pytest
from tradeplane_local.kafka_chaos import ChaosDriver, ChaosPlan, RoundReport

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONTAINERS = 6  # the driver fixture (tests/stress/conftest.py) gives the function this many containers
PARTITIONS = 6
SHORT_RUNS = 3
LONG_RUNS = 20
# Produced faster than consumed, so every partition has a backlog and six batches run at once.
PLAN = ChaosPlan(records=3000, clients=3, kills=2, restarts=0, symbols=36, produce_s=0.2, busy_at_kill=PARTITIONS)


def _check(report: RoundReport) -> None:
    assert report.acked > 0
    assert report.missing == [], f"{len(report.missing)} acknowledged ticks lost: {report.missing[:5]}; {report}"
    assert report.trade_count == report.applied, f"a tick was aggregated twice: {report}"
    assert report.applied + report.dead_lettered >= report.acked
    # At least once, no more: only records of an invocation that failed (a kill can land after its commit)
    # may come again, and the inbox absorbed each (bars counted every tick once, above).
    assert report.duplicates <= report.failed_records, report


def _runs(driver: ChaosDriver, runs: int) -> list[RoundReport]:
    reports = []
    for n in range(runs):
        report = driver.round(PLAN)
        print(f"run {n + 1}: peak {report.peak_in_flight} in flight, busy at kills {report.busy_at_kills}: {report}")
        _check(report)
        reports.append(report)
    return reports


def _chaos_happened(reports: list[RoundReport]) -> None:
    assert max(r.peak_in_flight for r in reports) == PARTITIONS  # all six partitions ran side by side
    kills = [busy for r in reports for busy in r.busy_at_kills]
    assert kills and max(kills) == PARTITIONS  # at least one kill landed with six batches in flight


def test_kill_with_six_partitions_in_flight_short(driver: ChaosDriver) -> None:
    _chaos_happened(_runs(driver, SHORT_RUNS))


@pytest.mark.stress
@pytest.mark.timeout(1200)
def test_kill_with_six_partitions_in_flight_20_runs(driver: ChaosDriver) -> None:
    reports = _runs(driver, LONG_RUNS)
    _chaos_happened(reports)
    assert sum(PARTITIONS in r.busy_at_kills for r in reports) >= LONG_RUNS // 2  # most runs killed at six
