"""The runner sizes a target with the strategy's stored rule against what the Core API reported."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from tp_strategy.core_client import Account
from tp_strategy.enabled import EnabledStrategy
from tp_strategy.interface import Target
from tp_strategy.runner import size_order

ACCOUNT = Account(equity=Decimal("100000"), cash=Decimal("40000"))


def strategy(sizing: dict[str, Any], allow_short: bool = False) -> EnabledStrategy:
    return EnabledStrategy(uuid.uuid4(), uuid.uuid4(), "ma_crossover", {}, "1m", sizing, allow_short, 1)


@pytest.mark.parametrize(
    ("sizing", "direction", "position", "allow_short", "qty"),
    [
        ({"kind": "fixed_qty", "qty": "10"}, 1, "0", False, "10"),
        ({"kind": "fixed_qty", "qty": "10"}, 1, "10", False, "0"),  # already long: keep it
        ({"kind": "fixed_qty", "qty": "10"}, -1, "10", False, "-10"),  # long only: short means flat
        ({"kind": "fixed_qty", "qty": "10"}, -1, "10", True, "-20"),  # reverse in one order
        ({"kind": "fixed_notional", "notional": "1000"}, 1, "0", False, "6"),  # 1000 / 150 whole shares
        ({"kind": "fixed_notional", "notional": "1000", "fractional": True}, 1, "0", False, "6.66666666"),
        ({"kind": "percent_equity", "percent": "30"}, 1, "0", False, "200"),  # 30% of 100k at 150
        ({"kind": "all_cash"}, 1, "0", False, "266"),  # 40k cash at 150
        ({"kind": "all_cash"}, 0, "-5", True, "5"),  # flat: buy the short back
    ],
)
def test_size_order(sizing: dict[str, Any], direction: int, position: str, allow_short: bool, qty: str) -> None:
    target = Target(direction, "test")  # type: ignore[arg-type]
    got = size_order(strategy(sizing, allow_short), target, Decimal("150"), ACCOUNT, Decimal(position))
    assert got == Decimal(qty)


def test_a_bad_stored_rule_is_refused_not_guessed() -> None:
    with pytest.raises(ValidationError):
        size_order(strategy({"kind": "fixed_qty"}), Target(1, "x"), Decimal(150), ACCOUNT, Decimal(0))
