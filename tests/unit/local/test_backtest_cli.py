"""`tradeplane backtest` and `tradeplane sweep` end to end on a CSV file: output, report, refusals."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from tradeplane_local.cli import main
from tradeplane_local.data_cli import run_synth, today_start


@pytest.fixture(scope="module")
def daily_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bt") / "spy.csv"
    run_synth("daily", ["SPY"], today_start(), 300, 5, path)  # the same synthetic daily file users can make
    return path


def test_backtest_json_and_html(daily_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    html = tmp_path / "r.html"
    argv = ["backtest", "--strategy", "ma_crossover", "--param", "fast=5", "--param", "slow=20", "--csv",
            str(daily_csv), "--cash", "10000", "--commission", "5", "--json", "--html", str(html)]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["commission_bps"] == "5"
    assert len(out["equity_curve"]) == 300
    assert out["metrics"]["trades"] == len(out["trades"]) > 0
    first = out["orders"][0]
    assert Decimal(first["fee"]) >= Decimal(first["qty"]) * Decimal(first["price"]) * Decimal("0.0005") > 0
    assert html.read_text().startswith("<!doctype html>")


def test_backtest_text_output(daily_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "backtest",
        "--strategy",
        "rsi_reversion",
        "--csv",
        str(daily_csv),
        "--sizing",
        "fixed_qty=10",
        "--allow-short",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "rsi_reversion {} on SPY: 300 bars" in out and "sharpe" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--param", "fast=40", "--param", "slow=30"], "fast (40) must be less than slow (30)"),
        (["--param", "fast=5,6"], "--param takes one value"),
        (["--sizing", "kelly"], "--sizing 'kelly'"),
        (["--sizing", "fixed_qty"], "sizing fixed_qty needs qty"),
        (["--cash", "-5"], "cash"),
    ],
)
def test_backtest_refusals_exit_2(
    daily_csv: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backtest", "--strategy", "ma_crossover", "--csv", str(daily_csv), *extra]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--strategy", "ma_crossover", "--csv", str(tmp_path / "none.csv")]) == 2
    assert "none.csv" in capsys.readouterr().err


def test_sweep_ranked_json(daily_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sweep", "--strategy", "ma_crossover", "--grid", "fast=5,10", "--grid", "slow=10:30:10", "--csv",
            str(daily_csv), "--workers", "1", "--rank-by", "total_return_pct", "--json"]  # fmt: skip
    assert main(argv) == 0
    ranked = json.loads(capsys.readouterr().out)
    assert len(ranked) == 6
    returns = [r["metrics"]["total_return_pct"] for r in ranked if r["metrics"]]
    assert returns == sorted(returns, reverse=True) and len(returns) == 5
    assert ranked[-1]["error"] and ranked[-1]["params"] == {"fast": 10, "slow": 10}


def test_sweep_table(daily_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "sweep",
        "--strategy",
        "bollinger_reversion",
        "--grid",
        "k=1.5,2",
        "--csv",
        str(daily_csv),
        "--workers",
        "2",
    ]
    assert main(argv) == 0
    assert "ranked by sharpe" in capsys.readouterr().out


def test_sweep_grid_cap(daily_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sweep", "--strategy", "ma_crossover", "--grid", "fast=1:50:1", "--grid", "slow=51:100:1", "--csv",
            str(daily_csv), "--max-cells", "100"]  # fmt: skip
    assert main(argv) == 2
    assert "2500 cells; at most 100" in capsys.readouterr().err
