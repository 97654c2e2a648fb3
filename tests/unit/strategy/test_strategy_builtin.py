"""Each built-in strategy against signals worked out by hand on small series (docs/strategies.md has the rules)."""

from __future__ import annotations

from typing import Any

import pytest
from support.strategy_bars import bars
from tp_strategy.registry import build


def signals(type_name: str, params: dict[str, Any], series: list[Any]) -> dict[int, int]:
    strategy = build(type_name, params)
    state = strategy.initial_state()
    out = {}
    for i, bar in enumerate(series):
        target = strategy.on_bar(state, bar)
        if target is not None:
            assert target.reason
            out[i] = target.direction
    return out


UPDOWN = bars([10, 11, 12, 11, 10, 9, 10, 12])


def test_sma_crossover() -> None:
    # idx2 fast 11.5 > slow 11; idx4 fast 10.5 < slow 11; idx7 fast 11 > slow 10.33
    assert signals("ma_crossover", {"fast": 2, "slow": 3}, UPDOWN) == {2: 1, 4: -1, 7: 1}


def test_ema_crossover() -> None:
    # EMAs seeded by their simple means: idx2 11.5 > 11; idx4 10.39 < 10.5; idx6 9.82 < 9.875 (held); idx7 11.27 > 10.94
    assert signals("ma_crossover", {"fast": 2, "slow": 3, "kind": "ema"}, UPDOWN) == {2: 1, 4: -1, 7: 1}


def test_ema_differs_from_sma_where_it_should() -> None:
    # closes where the SMA pair crosses one bar later than the EMA pair (EMA weighs the last close more)
    series = bars([10, 10, 10, 10, 9, 13, 12, 11])
    sma = signals("ma_crossover", {"fast": 2, "slow": 4}, series)
    ema = signals("ma_crossover", {"fast": 2, "slow": 4, "kind": "ema"}, series)
    assert sma == {4: -1, 5: 1}
    assert ema == {4: -1, 5: 1}
    late = bars([10, 10, 10, 10, 10, 12, 8, 9, 9.5])
    # SMA(2)/SMA(4) at idx6: 10 vs 10 -> no answer; idx7: 8.5 < 9.75 -> short. EMA at idx6: 9.73 < 10.07 -> short
    assert signals("ma_crossover", {"fast": 2, "slow": 4}, late) == {5: 1, 7: -1}
    assert signals("ma_crossover", {"fast": 2, "slow": 4, "kind": "ema"}, late) == {5: 1, 6: -1}


def test_rsi_reversion_wilder() -> None:
    # changes +1 +1 -1 -1 -1 +1 +2; Wilder(2): idx2 RSI 100 -> short; idx4 25 -> long; idx5 12.5 (held); idx7 85.4
    assert signals("rsi_reversion", {"period": 2}, UPDOWN) == {2: -1, 4: 1, 7: -1}


def test_rsi_levels() -> None:
    # oversold 20: 25 at idx4 is not enough, 12.5 at idx5 is; overbought 99: 85.4 at idx7 is not, 100 at idx2 is
    assert signals("rsi_reversion", {"period": 2, "oversold": 20, "overbought": 99}, UPDOWN) == {2: -1, 5: 1}


def test_donchian_breakout() -> None:
    # open = previous close, high/low = body extremes: highs 10 11 12 14 14 13 11 10 8, lows 10 10 11 12 13 11 10 7 7
    series = bars([10, 11, 12, 14, 13, 11, 10, 7, 8], spread=0)
    # idx3 14 > 3-bar high 12 -> long; idx5 11 < 2-bar exit low 12 -> flat; idx6 10 < 3-bar low 11 -> short;
    # idx8 8 is not above the 2-bar exit high 11: the short is held
    assert signals("donchian_breakout", {"entry": 3, "exit": 2}, series) == {3: 1, 5: 0, 6: -1}


def test_donchian_exits_a_short() -> None:
    # highs 11 11 10 9 8 10 11, lows 9 8 7 5 5 6 8
    series = bars([10, 9, 8, 6, 7, 9, 10])
    # idx3 6 < 3-bar low 7 -> short; idx4 7 is not above bar 3's high 9; idx5 9 > bar 4's high 8 -> flat;
    # idx6 10 is not above the 3-bar high 10
    assert signals("donchian_breakout", {"entry": 3, "exit": 1}, series) == {3: -1, 5: 0}


def test_bollinger_reversion() -> None:
    series = bars([10, 10, 10, 13, 13, 10, 12, 12])
    # idx3 mean 11 std 1.414 k=1: 13 > 12.41 -> short; idx5 10 < 10.59 -> long; idx6 12 >= mean 11.67 -> flat
    assert signals("bollinger_reversion", {"period": 3, "k": 1}, series) == {3: -1, 5: 1, 6: 0}


def test_bollinger_flat_window_gives_no_signal() -> None:
    assert signals("bollinger_reversion", {"period": 3, "k": 2}, bars([5] * 10)) == {}


@pytest.mark.parametrize(
    ("type_name", "params", "expected"),
    [
        ("ma_crossover", {"fast": 2, "slow": 3}, 3),
        ("ma_crossover", {"fast": 2, "slow": 3, "kind": "ema"}, 30),
        ("rsi_reversion", {"period": 14}, 300),
        ("donchian_breakout", {"entry": 20, "exit": 10}, 20),
        ("bollinger_reversion", {"period": 20}, 20),
    ],
)
def test_warmup(type_name: str, params: dict[str, Any], expected: int) -> None:
    assert build(type_name, params).warmup == expected
