"""The paper fill model (tradeplane.fill_model): examples for each rule, then properties over generated orders."""

from __future__ import annotations

from decimal import Decimal as D  # noqa: N817 - short, the tests are full of literals

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tradeplane.fill_model import NO_PRICE, FeeSchedule, FillConfig, Order, bar_path, on_arrival, on_path

FREE = FillConfig()


def test_market_fills_at_last_price_with_slippage_and_half_spread() -> None:
    config = FillConfig(slippage_bps=D(5), spread_bps=D(10))  # 10 bps cost in total
    buy = on_arrival(Order("buy", "market", qty=D(10)), D(100), config)
    sell = on_arrival(Order("sell", "market", qty=D(10)), D(100), config)
    assert buy.outcome == "filled" and buy.fills[0].price == D("100.1") and buy.fills[0].qty == D(10)
    assert sell.outcome == "filled" and sell.fills[0].price == D("99.9")


def test_market_order_without_a_price_is_rejected_with_that_reason() -> None:
    decision = on_arrival(Order("buy", "market", qty=D(1)), None, FREE)
    assert decision.outcome == "rejected" and decision.reason == NO_PRICE and decision.fills == ()


def test_market_order_fills_at_next_bar_open_in_a_backtest() -> None:
    decision = on_path(Order("buy", "market", qty=D(3)), bar_path(D(50), D(55), D(49), D(54)), FREE)
    assert decision.fills[0].price == D(50)


def test_notional_market_order_buys_fractional_shares() -> None:
    decision = on_arrival(Order("buy", "market", notional=D(1000)), D(300), FREE)
    assert decision.outcome == "filled" and decision.fills[0].qty == D("3.33333333")


@pytest.mark.parametrize(
    ("side", "limit", "last", "outcome", "price"),
    [
        ("buy", "101", "100", "filled", "100"),  # marketable: fills at the better market price
        ("buy", "99", "100", "new", None),  # rests
        ("sell", "99", "100", "filled", "100"),
        ("sell", "101", "100", "new", None),
    ],
)
def test_limit_fills_when_marketable_else_rests(side: str, limit: str, last: str, outcome: str, price: str) -> None:
    decision = on_arrival(Order(side, "limit", qty=D(1), limit_price=D(limit)), D(last), FREE)  # type: ignore[arg-type]
    assert decision.outcome == outcome
    assert [f.price for f in decision.fills] == ([D(price)] if price else [])


def test_resting_limit_fills_at_its_price_when_a_bar_crosses_it() -> None:
    order = Order("buy", "limit", qty=D(1), limit_price=D(98))
    decision = on_path(order, bar_path(D(100), D(101), D(97), D(100)), FREE)
    assert decision.fills[0].price == D(98)
    # A gap through the limit at the open fills at the open, the better price.
    gap = on_path(order, bar_path(D(96), D(99), D(95), D(97)), FREE)
    assert gap.fills[0].price == D(96)


def test_intra_bar_path_goes_low_first_on_up_bars_and_high_first_on_down_bars() -> None:
    assert bar_path(D(10), D(12), D(9), D(11)) == (D(10), D(9), D(12), D(11))
    assert bar_path(D(10), D(12), D(9), D("9.5")) == (D(10), D(12), D(9), D("9.5"))


def test_stop_triggers_on_its_stop_price_and_fills_as_market() -> None:
    order = Order("sell", "stop", qty=D(5), stop_price=D(95))
    assert on_arrival(order, D(96), FREE).outcome == "new"
    hit = on_path(order, bar_path(D(97), D(98), D(94), D(96)), FillConfig(slippage_bps=D(10)))
    assert hit.outcome == "filled" and hit.triggered and hit.fills[0].price == D("94.905")


def test_stop_limit_triggers_then_works_as_limit() -> None:
    order = Order("buy", "stop_limit", qty=D(1), stop_price=D(100), limit_price=D(99))
    # Up through the stop (triggered at 100, above the limit), back down through 99 later in the bar.
    decision = on_path(order, (D(98), D(101), D(97), D(98)), FREE)
    assert decision.triggered and decision.fills[0].price == D(99)
    # Triggered but never back at the limit: rests, remembering it was triggered.
    rest = on_path(order, (D(98), D(102)), FREE)
    assert rest.outcome == "new" and rest.triggered and rest.fills == ()
    assert on_path(Order(**{**order.__dict__, "triggered": True}), (D("98.5"),), FREE).fills[0].price == D("98.5")


def test_trailing_stop_tracks_its_high_water_mark() -> None:
    order = Order("sell", "trailing_stop", qty=D(1), trail_price=D(2))
    start = on_arrival(order, D(100), FREE)
    assert start.outcome == "new" and start.hwm == D(100)
    up = on_path(Order(**{**order.__dict__, "hwm": start.hwm}), (D(103), D(105), D(104)), FREE)
    assert up.outcome == "new" and up.hwm == D(105)
    down = on_path(Order(**{**order.__dict__, "hwm": up.hwm}), (D(104), D("102.5")), FREE)
    assert down.outcome == "filled" and down.fills[0].price == D(103)
    pct = on_path(Order("buy", "trailing_stop", qty=D(1), trail_percent=D(10), hwm=D(50)), (D(48), D(60)), FREE)
    assert pct.fills[0].price == D("52.8")  # low-water mark 48 plus 10%


def test_ioc_fills_what_it_can_and_cancels_the_rest() -> None:
    config = FillConfig(participation=D("0.5"))
    decision = on_arrival(Order("buy", "market", "ioc", qty=D(100)), D(10), config, volume=D(60))
    assert decision.outcome == "canceled" and decision.filled_qty == D(30)
    nothing = on_arrival(Order("buy", "limit", "ioc", qty=D(1), limit_price=D(9)), D(10), FREE)
    assert nothing.outcome == "canceled" and nothing.fills == ()


def test_fok_is_all_or_nothing() -> None:
    config = FillConfig(participation=D("0.5"))
    short = on_arrival(Order("buy", "market", "fok", qty=D(100)), D(10), config, volume=D(60))
    assert short.outcome == "canceled" and short.fills == ()
    full = on_arrival(Order("buy", "market", "fok", qty=D(30)), D(10), config, volume=D(60))
    assert full.outcome == "filled" and full.filled_qty == D(30)


def test_participation_bounds_each_fill_and_the_remainder_rests() -> None:
    config = FillConfig(participation=D("0.1"))
    first = on_path(Order("sell", "limit", "gtc", qty=D(50), limit_price=D(10)), (D(11),), config, volume=D(200))
    assert first.outcome == "partially_filled" and first.filled_qty == D(20)
    later = on_path(
        Order("sell", "limit", "gtc", qty=D(50), limit_price=D(10), filled_qty=D(20)), (D(11),), config, volume=D(1000)
    )
    assert later.outcome == "filled" and later.filled_qty == D(30)


def test_fees_per_share_bps_and_minimum() -> None:
    fees = FeeSchedule(per_share=D("0.005"), bps=D(1), minimum=D(1))
    assert fees.fee(D(100), D(50)) == D(1)  # 0.50 + 0.50 = 1.00
    assert fees.fee(D(10), D(50)) == D(1)  # 0.05 + 0.05, lifted to the minimum
    assert fees.fee(D(1000), D(50)) == D(10)  # 5 + 5
    assert fees.fee(D(3), D("33.33")) == D(1)
    assert FeeSchedule(bps=D(1)).fee(D(3), D("33.33")) == D("0.01")  # 0.0099990 rounds up to the cent


# ---------------------------------------------------------------- properties

prices = st.decimals(min_value=D("0.01"), max_value=D(10_000), places=2)
quantities = st.decimals(min_value=D("0.0001"), max_value=D(10_000), places=4)
rates = st.decimals(min_value=D("0.01"), max_value=D(1), places=2)
bps = st.decimals(min_value=D(0), max_value=D(100), places=1)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    kind = draw(st.sampled_from(["market", "limit", "stop", "stop_limit", "trailing_stop"]))
    side = draw(st.sampled_from(["buy", "sell"]))
    qty = draw(quantities)
    filled = draw(st.decimals(min_value=D(0), max_value=qty, places=4))
    return Order(
        side,
        kind,
        draw(st.sampled_from(["day", "gtc", "ioc", "fok"])),
        qty=qty,
        limit_price=draw(prices) if kind in ("limit", "stop_limit") else None,
        stop_price=draw(prices) if kind in ("stop", "stop_limit") else None,
        trail_price=draw(prices) if kind == "trailing_stop" else None,
        filled_qty=filled if filled < qty else D(0),
        hwm=draw(st.none() | prices) if kind == "trailing_stop" else None,
    )


fee_schedules = st.builds(
    FeeSchedule, per_share=st.sampled_from([D(0), D("0.005")]), bps=bps, minimum=st.sampled_from([D(0), D(1)])
)
configs = st.builds(FillConfig, slippage_bps=bps, spread_bps=bps, participation=st.none() | rates, fees=fee_schedules)
paths = st.lists(prices, min_size=1, max_size=4)
volumes = st.none() | st.decimals(min_value=D(0), max_value=D(100_000), places=2)


@settings(max_examples=300)
@given(orders(), paths, configs, volumes)
def test_fills_never_exceed_the_order_or_the_volume_cap(
    order: Order, path: list[D], config: FillConfig, volume: D | None
) -> None:
    decision = on_path(order, path, config, volume=volume)
    assert all(f.qty > 0 and f.price > 0 for f in decision.fills)
    assert order.remaining is not None and decision.filled_qty <= order.remaining
    cap = config.volume_cap(volume)
    if cap is not None:
        assert decision.filled_qty <= cap
    if decision.outcome == "filled":
        assert order.filled_qty + decision.filled_qty == order.qty


@settings(max_examples=300)
@given(orders(), paths, configs, volumes)
def test_limit_prices_are_never_breached(order: Order, path: list[D], config: FillConfig, volume: D | None) -> None:
    decision = on_path(order, path, config, volume=volume)
    if order.limit_price is not None:
        for fill in decision.fills:
            assert fill.price <= order.limit_price if order.side == "buy" else fill.price >= order.limit_price


@settings(max_examples=300)
@given(orders(), paths, configs)
def test_stops_never_fill_before_their_stop_is_reached(order: Order, path: list[D], config: FillConfig) -> None:
    decision = on_path(order, path, config)
    if order.type in ("stop", "stop_limit") and decision.fills:
        assert order.stop_price is not None
        reached = [p >= order.stop_price if order.side == "buy" else p <= order.stop_price for p in path]
        assert any(reached)


@settings(max_examples=300)
@given(orders(), prices, configs, volumes)
def test_immediate_orders_never_rest_and_fok_is_all_or_nothing(
    order: Order, last: D, config: FillConfig, volume: D | None
) -> None:
    decision = on_arrival(order, last, config, volume=volume)
    if order.time_in_force in ("ioc", "fok"):
        assert decision.outcome in ("filled", "canceled")
    if order.time_in_force == "fok":
        assert decision.fills == () or decision.outcome == "filled"


@given(st.sampled_from(["buy", "sell"]), quantities, prices, configs)
def test_market_orders_pay_the_cost_never_gain_from_it(side: str, qty: D, last: D, config: FillConfig) -> None:
    decision = on_arrival(Order(side, "market", qty=qty), last, config)  # type: ignore[arg-type]
    price = decision.fills[0].price
    assert price >= last if side == "buy" else price <= last


@given(quantities, prices, configs)
def test_fees_are_at_least_the_minimum_and_grow_with_size(qty: D, price: D, config: FillConfig) -> None:
    fees = config.fees
    assert fees.fee(qty, price) >= fees.minimum
    assert fees.fee(qty * 2, price) >= fees.fee(qty, price)


@given(st.lists(prices, min_size=1, max_size=12), prices)
def test_trailing_sell_high_water_mark_only_rises(path: list[D], trail: D) -> None:
    order = Order("sell", "trailing_stop", "gtc", qty=D(1), trail_price=trail)
    hwm = None
    for price in path:
        decision = on_path(Order(**{**order.__dict__, "hwm": hwm}), (price,), FREE)
        if decision.fills:
            assert hwm is not None and price <= hwm - trail
            break
        assert hwm is None or (decision.hwm is not None and decision.hwm >= hwm)
        hwm = decision.hwm
