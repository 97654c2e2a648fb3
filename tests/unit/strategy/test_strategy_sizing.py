"""Sizing a target into an order quantity: the four rules, long-only vs long/short, whole vs fractional shares."""

from __future__ import annotations

from decimal import Decimal as D  # noqa: N817 - short in the tables of cases
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from tp_strategy.sizing import AMOUNT_OF, Kind, SizingRule, order_qty


def qty(rule: dict[str, Any], direction: int, position: str = "0", *, allow_short: bool = False, **kw: str) -> D:
    money = {
        "price": D(kw.get("price", "40")),
        "equity": D(kw.get("equity", "10000")),
        "cash": D(kw.get("cash", "10000")),
    }
    return order_qty(
        SizingRule.model_validate(rule),
        direction,
        position=D(position),
        allow_short=allow_short,
        **money,  # type: ignore[arg-type]
    )


def test_fixed_qty() -> None:
    assert qty({"kind": "fixed_qty", "qty": 10}, 1) == 10
    assert qty({"kind": "fixed_qty", "qty": 10}, 0, "10") == -10
    assert qty({"kind": "fixed_qty", "qty": 10}, 1, "10") == 0  # already long: keep it


def test_fixed_notional_whole_and_fractional() -> None:
    assert qty({"kind": "fixed_notional", "notional": 1000}, 1, price="30") == 33  # 33.33 rounds down
    frac = qty({"kind": "fixed_notional", "notional": 1000, "fractional": True}, 1, price="30")
    assert frac == D("33.33333333")


def test_percent_equity() -> None:
    assert qty({"kind": "percent_equity", "percent": 25}, 1, equity="10000", price="40") == 62  # 2500 / 40 = 62.5


def test_all_cash_in_whole_units() -> None:
    assert qty({"kind": "all_cash"}, 1, cash="1000", price="30") == 33
    # short 10 at 30 (cash 1300 includes the proceeds): buying back costs 300, the rest buys 33 -> +43
    assert qty({"kind": "all_cash"}, 1, "-10", allow_short=True, cash="1300", price="30") == 43


def test_short_not_allowed_means_flat() -> None:
    assert qty({"kind": "fixed_qty", "qty": 10}, -1, "10") == -10
    assert qty({"kind": "fixed_qty", "qty": 10}, -1, "0") == 0


def test_short_allowed_reverses_in_one_order() -> None:
    assert qty({"kind": "fixed_qty", "qty": 10}, -1, "10", allow_short=True) == -20
    assert qty({"kind": "fixed_qty", "qty": 10}, -1, "-10", allow_short=True) == 0
    assert qty({"kind": "fixed_qty", "qty": 10}, 1, "-10", allow_short=True) == 20
    assert qty({"kind": "fixed_qty", "qty": 10}, 0, "-10", allow_short=True) == 10


def test_too_little_money_only_closes() -> None:
    assert qty({"kind": "fixed_notional", "notional": 10}, 1, price="40") == 0
    assert qty({"kind": "fixed_notional", "notional": 10}, -1, "5", allow_short=True, price="40") == -5


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"kind": "fixed_qty"}, "needs qty"),
        ({"kind": "fixed_notional", "qty": 5}, "needs notional"),
        ({"kind": "all_cash", "percent": 10}, "takes no percent"),
        ({"kind": "percent_equity", "percent": 150}, "less than or equal to 100"),
        ({"kind": "fixed_qty", "qty": "1.5"}, "needs fractional: true"),
        ({"kind": "fixed_qty", "qty": -1}, "greater than 0"),
        ({"kind": "kelly"}, "Input should be"),
    ],
)
def test_bad_rules_are_refused(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SizingRule.model_validate(rule)


money = st.decimals(min_value=D("0.01"), max_value=D(1_000_000), places=2)


@given(
    direction=st.sampled_from([1, 0, -1]),
    position=st.integers(min_value=-500, max_value=500).map(D),
    price=money,
    cash=money,
    allow_short=st.booleans(),
    kind=st.sampled_from(["fixed_qty", "fixed_notional", "percent_equity", "all_cash"]),
)
def test_the_resulting_position_points_where_asked(
    direction: int, position: D, price: D, cash: D, allow_short: bool, kind: str
) -> None:
    amounts = {"fixed_qty": {"qty": 7}, "fixed_notional": {"notional": 5000}, "percent_equity": {"percent": 50}}
    rule = SizingRule.model_validate({"kind": kind, **amounts.get(kind, {})})
    equity = cash + position * price
    q = order_qty(rule, direction, price=price, equity=equity, cash=cash, position=position, allow_short=allow_short)  # type: ignore[arg-type]
    after = position + q
    wanted = 0 if direction == -1 and not allow_short else direction
    assert q == q.to_integral_value()  # whole shares
    if wanted == 0:
        assert after == 0
    else:
        assert after == 0 or (after > 0) == (wanted == 1)  # never the wrong way; 0 only when too little money
        if position != 0 and (position > 0) == (wanted == 1):
            assert q == 0


def test_every_kind_names_its_amount_field_once_for_the_model_and_the_cli() -> None:
    assert set(AMOUNT_OF) == set(get_args(Kind))
    for kind, field in AMOUNT_OF.items():
        rule = SizingRule.model_validate({"kind": kind, **({field: "1"} if field else {})})
        assert rule.kind == kind
