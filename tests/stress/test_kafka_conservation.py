"""Issue 8: no acknowledged tick is lost, with containers killed and the Kafka source restarted mid-stream.

Each round produces ticks from several clients to the manifest's `market.ticks` while
SIGKILLing `bar_aggregator` containers and restarting its source, then checks that every
tick the broker acknowledged was aggregated exactly once (ops.inbox, bars' trade_count)
or sits in the dead-letter topic.
"""

from __future__ import annotations

import pytest
from tradeplane_local.kafka_chaos import ChaosDriver, ChaosPlan, RoundReport

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SHORT_ROUNDS = 3
LONG_ROUNDS = 50


def _check(report: RoundReport) -> None:
    assert report.acked > 0
    assert report.missing == [], f"{len(report.missing)} acknowledged ticks lost: {report.missing[:5]}; {report}"
    assert report.trade_count == report.applied, f"a tick was aggregated twice: {report}"
    assert report.applied + report.dead_lettered >= report.acked


def test_conservation_with_kills_short(driver: ChaosDriver) -> None:
    totals = {"kills": 0, "restarts": 0}
    for _ in range(SHORT_ROUNDS):
        report = driver.round(ChaosPlan(records=300))
        print(report)
        _check(report)
        totals["kills"] += report.kills
        totals["restarts"] += report.restarts
    assert totals["kills"] > 0 and totals["restarts"] == SHORT_ROUNDS  # the chaos happened


@pytest.mark.stress
@pytest.mark.timeout(900)
def test_conservation_with_kills_50_rounds(driver: ChaosDriver) -> None:
    kills = 0
    for n in range(LONG_ROUNDS):
        report = driver.round(ChaosPlan())
        _check(report)
        kills += report.kills
        print(f"round {n + 1}: {report}")
    assert kills >= LONG_ROUNDS  # most rounds killed containers mid-stream
