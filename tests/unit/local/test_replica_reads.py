"""The demo's replica section: checkout metrics summed from function logs, reads told apart from writes."""

from __future__ import annotations

import json

from tradeplane_local.replica_reads import read_only_functions, tally
from tradeplane_tools.manifest import DEFAULT_MANIFEST, load_manifest

MANIFEST = load_manifest(DEFAULT_MANIFEST)


def emf(fn: str, **metrics: object) -> str:
    body = {"_aws": {"Timestamp": 0, "CloudWatchMetrics": [{"Namespace": "Tradeplane", "Metrics": []}]}, **metrics}
    return json.dumps({"t": 0, "fn": fn, "stream": "s", "msg": json.dumps(body)})


def line(fn: str, msg: str) -> str:
    return json.dumps({"t": 0, "fn": fn, "stream": "s", "msg": msg})


def test_readers_are_get_routes_and_the_authorizer() -> None:
    readers = read_only_functions(MANIFEST)
    assert {"authorizer", "health_get", "orders_get", "activities_list", "portfolio_history"} <= readers
    assert not {"orders_submit", "accounts_create", "bar_aggregator", "ingest_http"} & readers


def test_share_counts_replica_reads_against_every_read_and_leaves_writes_out() -> None:
    lines = [
        emf("activities_list", DbReplicaReads=[1.0, 1.0]),  # two checkouts in one invocation
        emf("portfolio_history", DbPrimaryReads=1.0),  # the replica was down
        emf("orders_get", DbWriterCheckouts=1.0),  # read-your-writes: a read on the writer
        emf("orders_submit", DbWriterCheckouts=3.0),  # writes are not reads
        emf("bar_aggregator", TicksApplied=40.0),  # other metrics are ignored
        line("activities_list", "START RequestId: x"),
        line("orders_get", '{"_aws": not json'),
    ]
    share = tally(lines, MANIFEST)
    assert share.on_replica == 2
    assert share.reads == 2 + 1 + 1
    assert share.by_function["orders_submit"].writer == 3
    assert "bar_aggregator" not in share.by_function
