"""The backtest engine on a series small enough to book by hand: fills, fees, slippage, shorts, the cash cap."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D  # noqa: N817 - short in the tables of cases
from typing import Any

import pytest
from support.strategy_bars import T0, bars
from tp_strategy.backtest import BacktestConfig, backtest
from tp_strategy.registry import build

# opens (previous close) 10 10 11 12 11 10 9 10; SMA(2)/SMA(3) signals: idx2 long, idx4 short, idx7 long
UPDOWN = bars([10, 11, 12, 11, 10, 9, 10, 12])
SMA = {"fast": 2, "slow": 3}


def run(series: list[Any] = UPDOWN, params: dict[str, Any] = SMA, **config: Any) -> Any:
    base: dict[str, Any] = {"cash": 1000, "sizing": {"kind": "fixed_qty", "qty": 10}}
    return backtest(build("ma_crossover", params), series, BacktestConfig.model_validate({**base, **config}))


def test_next_open_long_only() -> None:
    r = run()
    # buy 10 at idx3's open 12; the idx4 short means flat: sell 10 at idx5's open 10; idx7's buy has no next bar
    assert [(x.side, x.qty, x.price, x.ts) for x in r.executions] == [
        ("buy", 10, 12, T0 + timedelta(days=3)),
        ("sell", 10, 10, T0 + timedelta(days=5)),
    ]
    assert r.equity == [1000, 1000, 1000, 990, 980, 980, 980, 980]
    [trade] = r.trades
    assert (trade.side, trade.qty, trade.entry_price, trade.exit_price, trade.pnl, trade.bars) == (
        "long",
        10,
        12,
        10,
        -20,
        2,
    )
    m = r.metrics
    assert m["final_equity"] == 980
    assert m["total_return_pct"] == pytest.approx(-2.0)
    assert m["exposure_pct"] == 25.0  # long at the close of idx3 and idx4
    assert m["max_drawdown_pct"] == pytest.approx(2.0)
    assert m["max_drawdown_duration"] == timedelta(days=5)  # from the last peak (idx2) to the end, never recovered
    assert m["max_drawdown_bars"] == 5
    assert (m["trades"], m["win_rate_pct"], m["avg_trade"]) == (1, 0.0, -20)
    assert m["pending_order_qty"] == 10
    assert m["signals"] == 3


def test_commission_fixed_fee_and_slippage() -> None:
    r = run(commission_bps=10, fixed_fee=1, slippage_bps=100)
    buy, sell = r.executions
    assert (buy.price, buy.fee) == (D("12.12"), D("1.13"))  # 12 x 1.01; 121.2 x 0.001 = 0.1212 -> 0.13 (up) + 1
    assert (sell.price, sell.fee) == (D("9.9"), D("1.10"))  # 10 x 0.99; 99 x 0.001 = 0.099 -> 0.10 + 1
    assert r.metrics["final_equity"] == D(1000) - D("121.2") - D("1.13") + D(99) - D("1.10")
    assert r.trades[0].pnl == D(99) - D("121.2") - D("1.13") - D("1.10")
    assert r.metrics["fees"] == D("2.23")


def test_fill_at_close() -> None:
    r = run(fill_at="close")
    assert [(x.side, x.price) for x in r.executions] == [("buy", 12), ("sell", 10), ("buy", 12)]
    assert r.metrics["final_equity"] == 980  # 860 cash + 10 x 12
    assert r.metrics["open_position"] == 10
    assert r.metrics["pending_order_qty"] == 0


def test_long_short_reverses_in_one_order() -> None:
    r = run(allow_short=True)
    assert [(x.side, x.qty, x.price) for x in r.executions] == [("buy", 10, 12), ("sell", 20, 10)]
    assert [(t.side, t.pnl) for t in r.trades] == [("long", -20)]
    assert r.equity[-3:] == [990, 980, 960]  # short 10 from 10: closes 9, 10, 12
    assert r.metrics["open_position"] == -10
    assert r.metrics["exposure_pct"] == 62.5


def test_short_trade_is_booked_when_covered() -> None:
    r = run(allow_short=True, fill_at="close")  # short 10 at idx4's 10, covered at idx7's 12
    assert [(t.side, t.qty, t.entry_price, t.exit_price, t.pnl) for t in r.trades] == [
        ("long", 10, 12, 10, -20),
        ("short", 10, 10, 12, -20),
    ]


def test_all_cash_buys_only_what_the_cash_pays_for_fees_included() -> None:
    r = run(fill_at="close", commission_bps=10, sizing={"kind": "all_cash"})
    buy = r.executions[0]
    assert (buy.qty, buy.price, buy.fee) == (83, 12, D("1.00"))  # 1000 / 12 = 83.3; 83 x 12 = 996 + 0.996 -> 1.00
    cut = run(
        bars([10, 11, 12, 11, 10, 9, 10, 12]), fill_at="close", commission_bps=10, sizing={"kind": "all_cash"}, cash=996
    )
    assert cut.executions[0].qty == 82  # 83 would cost 996 + 1.00 > 996


def test_next_open_gap_cannot_overspend() -> None:
    series = bars([10, 11, 12, 20, 20, 20])  # the order sized at 12 fills at the next open 12 ... then gap
    r = run(series, {"fast": 1, "slow": 2}, sizing={"kind": "all_cash"})
    assert all(x.qty * x.price + x.fee <= 1000 for x in r.executions)
    gap = bars([10, 12, 12])
    gap[1] = type(gap[1])(gap[1].symbol, gap[1].ts, gap[1].open, D(13), gap[1].low, D(12), gap[1].volume)
    gap[2] = type(gap[2])(gap[2].symbol, gap[2].ts, D(15), D(16), D(11), D(12), gap[2].volume)
    g = run(gap, {"fast": 1, "slow": 2}, sizing={"kind": "all_cash"})
    [buy] = g.executions  # sized at idx1's close 12 (83 shares), filled at idx2's open 15: cut to 66
    assert (buy.qty, buy.price) == (66, 15)


def test_bars_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="out of order"):
        run([UPDOWN[1], UPDOWN[0]])


def test_no_bars() -> None:
    r = run([])
    assert r.metrics["final_equity"] == 1000
    assert r.metrics["sharpe"] is None and r.metrics["cagr_pct"] is None


def test_cagr_of_intraday_minutes_is_none_not_an_overflow() -> None:
    # 240 one-minute bars that double the money: annualising four hours overflows a float.
    minutes = bars([10 * (1 + i / 120) for i in range(240)], step=timedelta(minutes=1))
    r = run(minutes, {"fast": 1, "slow": 2}, sizing={"kind": "all_cash"})
    assert r.metrics["total_return_pct"] > 50
    assert r.metrics["cagr_pct"] is None


def test_ratios_follow_their_definitions() -> None:
    import itertools
    import math
    import statistics

    r = run(fill_at="close", allow_short=True)
    curve = [1000.0, *(float(e) for e in r.equity)]
    rets = [b / a - 1 for a, b in itertools.pairwise(curve)]
    m = r.metrics
    assert m["periods_per_year"] == 252.0  # daily bars
    assert m["sharpe"] == pytest.approx(statistics.fmean(rets) / statistics.stdev(rets) * math.sqrt(252))
    down = math.sqrt(sum(x * x for x in rets if x < 0) / len(rets))
    assert m["sortino"] == pytest.approx(statistics.fmean(rets) / down * math.sqrt(252))
    assert m["volatility_pct"] == pytest.approx(statistics.stdev(rets) * math.sqrt(252) * 100)
    years = 7 / 365.25
    assert m["cagr_pct"] == pytest.approx(((float(m["final_equity"]) / 1000) ** (1 / years) - 1) * 100)


def test_result_is_json_able_and_thinned() -> None:
    import json

    r = run(fill_at="close")
    d = json.loads(json.dumps(r.to_dict(max_points=3)))
    assert D(d["metrics"]["final_equity"]) == 980
    assert d["metrics"]["max_drawdown_duration"] == 5 * 86400
    assert [p[0] for p in d["equity_curve"]] == [
        "2026-01-05T00:00:00Z",
        "2026-01-08T00:00:00Z",
        "2026-01-11T00:00:00Z",
        "2026-01-12T00:00:00Z",
    ]
    assert D(d["trades"][0]["pnl"]) == -20
    assert d["config"]["sizing"] == {
        "kind": "fixed_qty",
        "qty": "10",
        "notional": None,
        "percent": None,
        "fractional": False,
    }


def test_fractional_all_cash_fits_at_once_with_fee_rounding() -> None:
    # 1000 / 12 fractional with 10 bps: the fee rounds up to the cent; the buy must still fit the cash
    r = run(fill_at="close", commission_bps=10, fixed_fee="0.5", sizing={"kind": "all_cash", "fractional": True})
    buy = r.executions[0]
    assert buy.qty * buy.price + buy.fee <= 1000
    assert buy.qty * buy.price + buy.fee > D("999.9")  # and spends nearly all of it
    assert buy.qty != buy.qty.to_integral_value()
