"""The scaling bench's bookkeeping: ticks keyed to one partition per symbol, rounds timed by completions."""

from __future__ import annotations

import json
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from tradeplane_local import bench_scaling
from tradeplane_local.bench_scaling import SYMBOLS, Completion, tick_records
from tradeplane_local.host import InvokeResult


def test_each_symbol_stays_on_one_partition_and_partitions_share_alike() -> None:
    for partitions in (1, 6):
        records = tick_records(partitions, SYMBOLS * 5)
        by_symbol: dict[bytes, set[int]] = {}
        for partition, key, value in records:
            by_symbol.setdefault(key, set()).add(partition)
            assert json.loads(value)["data"]["symbol"].encode() == key  # keyed by symbol, as ingest keys
        assert all(len(parts) == 1 for parts in by_symbol.values())
        assert Counter(p for p, _, _ in records) == dict.fromkeys(range(partitions), SYMBOLS * 5 // partitions)


def _event(records: int) -> dict[str, Any]:
    return {"records": {"t-0": [{"offset": i} for i in range(records)]}}


def test_completion_counts_only_successful_invocations() -> None:
    answers = iter([True, False, True])
    source = SimpleNamespace(invoke=lambda event: InvokeResult(next(answers), "r"))
    completion = Completion(source)  # type: ignore[arg-type]
    for size in (3, 5, 2):
        source.invoke(_event(size))
    assert completion.records == 5
    assert completion.rate(5, timeout_s=0.1) > 0
    with pytest.raises(TimeoutError, match="5 of 6"):
        completion.rate(6, timeout_s=0.05)
    completion.reset()
    assert completion.records == 0 and completion.first_start is None


def test_io_report_sets_each_count_beside_partitions_times_one(capsys: pytest.CaptureFixture[str]) -> None:
    rows: list[tuple[Any, ...]] = []
    bench_scaling._report_io({1: 100.0, 4: 360.0}, 10, 1, lambda *a: rows.append(a), print)
    assert [r[0] for r in rows] == ["1 partition(s)", "4 partition(s)"]
    assert rows[1][2:4] == ("400 rec/s", "0.90x")
