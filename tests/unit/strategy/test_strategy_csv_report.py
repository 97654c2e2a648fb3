"""The OHLCV CSV reader (spellings, times, refusals with their line) and the self-contained HTML report."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from support.strategy_bars import bars
from tp_strategy.backtest import BacktestConfig, backtest
from tp_strategy.backtest.csv_bars import CsvBarsError, read_csv_bars
from tp_strategy.backtest.report import render_html
from tp_strategy.registry import build


def test_yahoo_style_daily_file(tmp_path: Path) -> None:
    path = tmp_path / "spy.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2026-01-02,590.1,595,588.5,594.2,593.9,1000\n"
        "2026-01-05,594,596,590,591,590.7,1200\n"
    )
    got = read_csv_bars(path)
    assert [(b.symbol, b.ts, b.close, b.volume) for b in got] == [
        ("SPY", datetime(2026, 1, 2, tzinfo=UTC), Decimal("594.2"), 1000),
        ("SPY", datetime(2026, 1, 5, tzinfo=UTC), Decimal(591), 1200),
    ]  # the plain close, not the adjusted one


def test_short_names_epoch_millis_symbol_column_and_gzip(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write(
            "t,symbol,o,h,l,c\n1767225600000,AAPL,1,2,1,2\n1767225600000,MSFT,5,5,5,5\n1767225660000,AAPL,2,3,2,3\n"
        )
    got = read_csv_bars(path, symbol="AAPL")
    assert [(b.symbol, b.ts.isoformat(), b.volume) for b in got] == [
        ("AAPL", "2026-01-01T00:00:00+00:00", 0),
        ("AAPL", "2026-01-01T00:01:00+00:00", 0),
    ]


def test_iso_times_with_offsets_become_utc() -> None:
    text = "timestamp,open,high,low,close,volume\n2026-03-02T09:30:00-05:00,1,1,1,1,1\n2026-03-02T14:31:00Z,1,1,1,1,1\n"
    got = read_csv_bars(io.StringIO(text), symbol="X")
    assert [b.ts for b in got] == [datetime(2026, 3, 2, 14, 30, tzinfo=UTC), datetime(2026, 3, 2, 14, 31, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("when,open,high,low,close\n", "line 1: no ts column"),
        ("", "line 1: empty file"),
        ("date,open,high,low,close\n2026-01-02,1,2,1,x\n", "line 2: cannot read the row"),
        ("date,open,high,low,close\n2026-01-02,1,2,1,2\n2026-01-02,1,2,1,2\n", "line 3: time .* is not after"),
        ("date,open,high,low,close\n2026-01-02,1,2,1\n", "line 2: cannot read the row"),
        ("date,open,high,low,close\n2026-01-02,1,1.5,1,2\n", "line 2: high 1.5 / low 1 do not contain"),
        ("date,open,high,low,close,volume\n2026-01-02,1,2,1,2,-3\n", "line 2: prices must be positive"),
        ("date,open,high,low,close\n2026-01-02,0,2,0,2\n", "line 2: prices must be positive"),
    ],
)
def test_bad_files_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(CsvBarsError, match=message):
        read_csv_bars(io.StringIO(text))


def test_html_report_is_self_contained_and_escaped() -> None:
    series = bars([10, 11, 12, 11, 10, 9, 10, 12] * 5)
    result = backtest(build("ma_crossover", {"fast": 2, "slow": 3}), series, BacktestConfig(cash=Decimal(1000)))
    html = render_html(result, title="<b>SMA</b> & co")
    assert html.startswith("<!doctype html>")
    assert "&lt;b&gt;SMA&lt;/b&gt; &amp; co" in html and "<b>SMA" not in html
    assert html.count("<svg") == 2 and "<polyline" in html and "<polygon" in html
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert f"Trades ({len(result.trades)})" in html and len(result.trades) > 3
    assert "Sharpe" in html and "Max drawdown %" in html


def test_compact_dates_are_dates_not_epochs() -> None:
    got = read_csv_bars(io.StringIO("date,open,high,low,close\n20260102,1,1,1,1\n20260105,1,1,1,1\n"), symbol="X")
    assert [b.ts for b in got] == [datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 5, tzinfo=UTC)]
