"""The backtest bench's comparison on a short series: both engines ran, did the same trades, a ratio is printed."""

from __future__ import annotations

from typing import Any

import pytest
from tradeplane_local.bench_backtest import bench_backtest


@pytest.mark.slow
def test_bench_rows_compare_the_same_work(monkeypatch: Any) -> None:
    import tradeplane_local.bench_backtest as bench

    rows: list[tuple[Any, ...]] = []
    headers: list[str] = []
    real_compare = bench._compare
    monkeypatch.setattr(bench, "_compare", lambda n, rounds, row: real_compare(n // 10, 1, row))  # 250 and 1,000 bars
    bench_backtest(True, lambda *cells: rows.append(cells), headers.append)
    assert headers and "goal >= 10x" in headers[0]
    assert [r[0] for r in rows] == ["bars/s, 250 daily bars", "bars/s, 1,000 daily bars"]
    for _, ours, theirs, ratio, note in rows:
        assert ours.endswith("/s") and theirs.endswith("/s") and float(ratio.rstrip("x")) > 0
        assert "(same)" in note, note
        assert "fee rounding" in note and "trades entered on another bar" in note, note  # the gap, split
