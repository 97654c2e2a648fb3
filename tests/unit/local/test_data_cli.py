"""`tradeplane data synth` and `replay`: seeded data the ETL accepts, chunked replay through the real request
logic (tp_etl.ingest with a recording delivery), pacing, rejected rows reported by file line, same ids twice."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tp_etl.delivery import Delivery
from tp_etl.formats import Parsed, RowContext, read_csv
from tp_etl.ingest import ingest_request
from tradeplane.problems import Problem
from tradeplane_local.data_cli import ReplayError, open_text, replay, synth_rows

START = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


def synth(kind: str, seed: int = 7, minutes: int = 3) -> list[list[str]]:
    return list(synth_rows(kind, {"AAPL": 190.0, "MSFT": 415.0}, START, minutes, seed))  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["trades", "quotes", "bars", "daily"])
def test_synth_is_seeded_and_every_row_is_accepted_by_the_etl(kind: str) -> None:
    rows = synth(kind)
    assert rows == synth(kind) and rows != synth(kind, seed=8)
    parsed = list(read_csv(iter(rows), RowContext()))
    assert len(parsed) == len(rows) - 1 > 2 and all(isinstance(p, Parsed) for p in parsed)


def test_synth_bars_are_the_trades_rolled_up() -> None:
    trades, bars = synth("trades"), synth("bars")
    assert sum(int(b[6]) for b in bars[1:]) == sum(int(t[3]) for t in trades[1:])
    assert sum(int(b[7]) for b in bars[1:]) == len(trades) - 1
    assert {b[0][:16] for b in bars[1:]} == {"2026-11-24T14:30", "2026-11-24T14:31", "2026-11-24T14:32"}


class Platform:
    """POST /v1/market-data's own logic, in process, with a delivery that records what would be published."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.requests = 0

    def post(self, text: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        @contextmanager
        def tx() -> Iterator[None]:
            yield None

        delivery = Delivery(lambda topic, items: len(list(items)), lambda: None, lambda: True, lambda: 0, tx)  # type: ignore[arg-type]
        self.requests += 1
        try:
            result = ingest_request(text, "text/csv", query, delivery, now=datetime(2030, 1, 1, tzinfo=UTC),
                                    producer="t", correlation_id=None)  # fmt: skip
        except Problem as problem:
            return problem.status, problem.to_dict()
        self.published += result.event_ids
        return 202, {**result.report.as_dict(), "event_ids": result.event_ids}


def write(tmp_path: Path, name: str, rows: list[list[str]]) -> Path:
    path = tmp_path / name
    with open_text(path, "w") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


def test_replay_sends_chunks_and_a_second_replay_has_the_same_ids(tmp_path: Path) -> None:
    path = write(tmp_path, "ticks.csv.gz", synth("trades"))
    platform = Platform()
    first = replay(path, platform.post, batch_rows=50)
    again = replay(path, platform.post, batch_rows=50)
    assert first.accepted == first.rows == len(synth("trades")) - 1
    assert first.requests == -(-first.rows // 50) and first.event_ids == again.event_ids


def test_rejected_rows_are_reported_by_file_line_and_the_rest_goes_through(tmp_path: Path) -> None:
    rows = synth("trades")
    rows[60][2] = "-1"  # file line 61
    rows[120][2] = "abc"  # file line 121
    platform = Platform()
    summary = replay(write(tmp_path, "t.csv", rows), platform.post, batch_rows=50)
    assert [(line, name) for line, name, _ in summary.rejected] == [(61, "price"), (121, "price")]
    assert summary.accepted == len(rows) - 3 and summary.requests == -(-(len(rows) - 1) // 50) + 2


def test_a_refused_file_stops_the_replay(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="line 2"):
        replay(write(tmp_path, "x.csv", [["when", "what"], ["1", "2"]]), Platform().post)


def test_speed_paces_chunks_by_data_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tp_etl.bar_store.store_imported", lambda conn, bars: len(bars))
    path = write(tmp_path, "t.csv", synth("bars", minutes=10))  # 2 symbols x 10 minutes, one chunk per minute
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    replay(path, Platform().post, speed=60, batch_rows=2, sleep=sleep, clock=lambda: now[0])
    assert now[0] == pytest.approx(9.0)  # nine data minutes after the first chunk, at 60x: nine seconds
    assert len(slept) == 9
