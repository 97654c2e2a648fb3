"""Type names to classes, parameter validation with clear errors, and users' strategies by module path."""

from __future__ import annotations

import pytest
from support.strategy_bars import bars
from tp_strategy.registry import StrategyError, build, builtin_types, strategy_class, validate_params


def test_builtin_types() -> None:
    assert builtin_types() == ["bollinger_reversion", "donchian_breakout", "ma_crossover", "rsi_reversion"]


def test_defaults_are_filled_in_and_json_able() -> None:
    assert validate_params(strategy_class("ma_crossover"), {"fast": 5}) == {"fast": 5, "slow": 30, "kind": "sma"}
    assert validate_params(strategy_class("bollinger_reversion"), None) == {"period": 20, "k": 2.0}


@pytest.mark.parametrize(
    ("type_name", "params", "message"),
    [
        ("ma_crossover", {"fast": 30, "slow": 10}, "fast (30) must be less than slow (10)"),
        ("ma_crossover", {"fast": 0}, "fast: Input should be greater than or equal to 1"),
        ("ma_crossover", {"kind": "wma"}, "kind: Input should be 'sma' or 'ema'"),
        ("ma_crossover", {"fats": 5}, "fats: Extra inputs are not permitted"),
        ("rsi_reversion", {"oversold": 80, "overbought": 70}, "oversold (80.0) must be less than overbought"),
        ("donchian_breakout", {"entry": 10, "exit": 20}, "exit (20) must not exceed entry (10)"),
        ("bollinger_reversion", {"k": -1}, "k: Input should be greater than 0"),
        ("bollinger_reversion", {"period": "twenty"}, "period: Input should be a valid integer"),
    ],
)
def test_bad_params_are_refused_with_a_clear_message(type_name: str, params: dict[str, object], message: str) -> None:
    with pytest.raises(StrategyError) as err:
        build(type_name, params)
    assert message in str(err.value)
    assert err.value.errors  # per-field detail for a problem response


def test_user_strategy_by_module_path() -> None:
    strategy = build("support.strategy_bars:EveryN", {"n": 2})
    state = strategy.initial_state()
    got = [t.direction if (t := strategy.on_bar(state, b)) else None for b in bars([1, 2, 3, 4, 5, 6])]
    assert got == [None, 1, None, 0, None, 1]


@pytest.mark.parametrize(
    ("type_name", "message"),
    [
        ("sma_cross", "unknown strategy type 'sma_cross'"),
        ("support.strategy_bars", "unknown strategy type"),
        ("support.nowhere:Strat", "cannot import strategy module 'support.nowhere'"),
        ("support.strategy_bars:Missing", "has no class 'Missing'"),
        ("support.strategy_bars:NotAStrategy", "needs a pydantic `Params` model"),
        ("support.strategy_bars:1x", "is not of the form"),
    ],
)
def test_unusable_types_are_refused(type_name: str, message: str) -> None:
    with pytest.raises(StrategyError, match=message):
        strategy_class(type_name)


def test_module_prefixes_limit_what_may_be_imported() -> None:
    assert strategy_class("support.strategy_bars:EveryN", module_prefixes=["support"])
    assert strategy_class("ma_crossover", module_prefixes=[])  # built-ins are always allowed
    with pytest.raises(StrategyError, match="not under an allowed package"):
        strategy_class("support.strategy_bars:EveryN", module_prefixes=["supp", "user_strategies"])
