"""The order matcher handler on real servers: resting orders fill when ticks and bars cross their prices."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from support.core_api import Trader
from support.execution import as_function, book, msk_event, query, submit_and_execute, trade_events
from tradeplane.contracts.market import QUOTE_EVENT
from tradeplane.contracts.topics import MARKET_BARS, MARKET_TICKS
from tradeplane.envelope import Envelope
from tradeplane.fill_model import FillConfig
from tradeplane_tools.manifest import Bindings

pytestmark = pytest.mark.integration


def resting(trader: Trader, core_env: dict[str, Any], bindings: Bindings, **order: Any) -> dict[str, Any]:
    """A gtc buy limit (unless `order` says otherwise) through the Core API and the executor."""
    return submit_and_execute(trader, core_env, bindings, **{"type": "limit", "time_in_force": "gtc", **order})


def tick(symbol: str, price: str, size: str = "100", *, at: datetime | None = None) -> Envelope:
    ts = (at or datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    data = {"symbol": symbol, "price": price, "size": size, "ts": ts, "source": "test"}
    return Envelope.new("market.tick", data, producer="test", id=f"tick_{uuid.uuid4().hex}")


def bar(symbol: str, o: str, h: str, low: str, c: str, volume: str = "1000") -> Envelope:
    start = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
    data = {"symbol": symbol, "interval": "1m", "bucket_start": start.isoformat(), "open": o, "high": h, "low": low,
            "close": c, "volume": volume, "trade_count": 10, "revision": 0}  # fmt: skip
    return Envelope.new("market.bar", data, producer="test", id=f"bar_{uuid.uuid4().hex}")


def match(bindings: Bindings, core_env: dict[str, Any], *envs: Envelope, config: FillConfig | None = None) -> Any:
    topic = MARKET_BARS if envs[0].type == "market.bar" else MARKET_TICKS
    event = msk_event(list(envs), core_env["kafka"], topic)
    with as_function("order_matcher", bindings) as module:
        if config is not None:
            module.CONFIG = config
        try:
            return module.handler(event, module_context())
        finally:
            module.CONFIG = module.SETTINGS.fill_config()


def module_context() -> Any:
    from support.core_api import Context

    return Context("order_matcher")


def status(dsn: str, order_id: str) -> tuple[str, Decimal]:
    row = query(dsn, "select status, filled_qty from trading.orders where id = %s", uuid.UUID(order_id))[0]
    return row["status"], row["filled_qty"]


def test_a_tick_through_the_limit_fills_once_and_an_earlier_tick_never(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "190")
    order = resting(trader, core_env, bindings, limit_price="150", client_order_id="m-lim")
    dsn = core_env["dsn"]
    match(bindings, core_env, tick("AAPL", "151"))
    assert status(dsn, order["id"]) == ("new", 0)
    match(bindings, core_env, tick("AAPL", "140", at=datetime.now(UTC) - timedelta(hours=1)))  # before the order
    assert status(dsn, order["id"]) == ("new", 0)
    crossing = tick("AAPL", "149.5")
    assert match(bindings, core_env, crossing)["fills"] == 1
    assert match(bindings, core_env, crossing)["fills"] == 0  # redelivered: nothing changes
    assert status(dsn, order["id"]) == ("filled", 10)
    state = book(dsn, trader.account_id)
    assert state["positions"] == {"AAPL": Decimal(10)} and state["cash"] == Decimal(100000) - Decimal(1495)
    assert state["reserved"] == 0
    assert trade_events(dsn, trader.account_id)[-1] == ("m-lim", "fill", "filled")


def test_price_time_priority_shares_the_volume_best_price_first(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("MSFT", "400")
    older = resting(trader, core_env, bindings, symbol="MSFT", qty="5", limit_price="390", client_order_id="p-old")
    better = resting(trader, core_env, bindings, symbol="MSFT", qty="3", limit_price="391", client_order_id="p-best")
    later = resting(trader, core_env, bindings, symbol="MSFT", qty="5", limit_price="390", client_order_id="p-late")
    # 10 shares trade, we may take half: the better price first, then the older order at the same price.
    match(bindings, core_env, tick("MSFT", "389", size="10"), config=FillConfig(participation=Decimal("0.5")))
    dsn = core_env["dsn"]
    assert status(dsn, better["id"]) == ("filled", 3)
    assert status(dsn, older["id"]) == ("partially_filled", 2)
    assert status(dsn, later["id"]) == ("new", 0)


def test_bar_triggers_a_stop_on_its_assumed_path(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("NVDA", "100")
    order = resting(trader, core_env, bindings, symbol="NVDA", type="stop", stop_price="105", client_order_id="stp")
    # Down bar: O->H->L->C, the high (106) crosses the buy stop at 105 before the low.
    match(bindings, core_env, bar("NVDA", "101", "106", "99", "100"))
    assert status(core_env["dsn"], order["id"]) == ("filled", 10)
    fill = book(core_env["dsn"], trader.account_id)["fills"][0]
    assert fill["price"] == Decimal(105)


def test_bracket_take_profit_fill_cancels_the_stop_loss(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("AMD", "100")
    parent = resting(trader, core_env, bindings, symbol="AMD", type="market", time_in_force="day",
                     order_class="bracket", take_profit={"limit_price": "110"}, stop_loss={"stop_price": "90"},
                     client_order_id="brk")  # fmt: skip
    legs = {"take_profit" if leg["type"] == "limit" else "stop_loss": leg["id"] for leg in parent["legs"]}
    match(bindings, core_env, tick("AMD", "111"))
    dsn = core_env["dsn"]
    assert status(dsn, legs["take_profit"]) == ("filled", 10)
    assert status(dsn, legs["stop_loss"])[0] == "canceled"
    assert book(dsn, trader.account_id)["positions"] == {}


def test_a_pending_cancel_order_is_not_filled(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "190")
    order = resting(trader, core_env, bindings, limit_price="150", client_order_id="pc")
    assert trader.api.delete(f"/v2/orders/{order['id']}", headers=trader.key).status == 204
    match(bindings, core_env, tick("AAPL", "100"))
    assert status(core_env["dsn"], order["id"]) == ("pending_cancel", 0)


def test_a_partly_filled_take_profit_resizes_its_stop_loss(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("INTC", "20")
    parent = resting(trader, core_env, bindings, symbol="INTC", type="market", time_in_force="day",
                     order_class="bracket", take_profit={"limit_price": "22"}, stop_loss={"stop_price": "18"},
                     client_order_id="brk-resize")  # fmt: skip
    legs = {"take_profit" if leg["type"] == "limit" else "stop_loss": leg["id"] for leg in parent["legs"]}
    # 8 shares trade through the take-profit; we may take half of them.
    match(bindings, core_env, tick("INTC", "22.5", size="8"), config=FillConfig(participation=Decimal("0.5")))
    dsn = core_env["dsn"]
    assert status(dsn, legs["take_profit"]) == ("partially_filled", 4)
    stop = query(dsn, "select status, qty from trading.orders where id = %s", uuid.UUID(legs["stop_loss"]))[0]
    assert (stop["status"], stop["qty"]) == ("new", 6)
    assert book(dsn, trader.account_id)["positions"] == {"INTC": Decimal(6)}


def test_oco_sides_work_at_once_and_one_filling_cancels_the_other(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("JPM", "100")
    resting(trader, core_env, bindings, symbol="JPM", type="market", time_in_force="day", client_order_id="own")
    exits = {"take_profit": {"limit_price": "110"}, "stop_loss": {"stop_price": "90"}}
    oco = resting(trader, core_env, bindings, symbol="JPM", side="sell", limit_price="110", order_class="oco",
                  client_order_id="oco", **exits)  # fmt: skip
    [stop_leg] = oco["legs"]
    dsn = core_env["dsn"]
    assert status(dsn, oco["id"])[0] == "new" and status(dsn, stop_leg["id"])[0] == "new"
    match(bindings, core_env, tick("JPM", "89"))
    assert status(dsn, stop_leg["id"]) == ("filled", 10)
    assert status(dsn, oco["id"])[0] == "canceled"
    assert book(dsn, trader.account_id)["positions"] == {}


def test_a_trailing_stop_keeps_its_high_water_mark_in_the_book_and_fills_on_the_pullback(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any
) -> None:
    set_price("KO", "60")
    resting(trader, core_env, bindings, symbol="KO", type="market", time_in_force="day", client_order_id="ko-own")
    trail = resting(trader, core_env, bindings, symbol="KO", side="sell", type="trailing_stop", trail_price="2",
                    limit_price=None, client_order_id="ko-trail")  # fmt: skip
    dsn = core_env["dsn"]
    hwm = "select hwm from trading.orders where id = %s"
    assert query(dsn, hwm, uuid.UUID(trail["id"]))[0]["hwm"] == 60  # set on arrival at the last price
    match(bindings, core_env, tick("KO", "63"), tick("KO", "65"), tick("KO", "64"))
    assert query(dsn, hwm, uuid.UUID(trail["id"]))[0]["hwm"] == 65 and status(dsn, trail["id"]) == ("new", 0)
    match(bindings, core_env, tick("KO", "62.5"))  # below 65 - 2: the stop triggers and fills as a market order
    assert status(dsn, trail["id"]) == ("filled", 10)
    assert book(dsn, trader.account_id)["positions"] == {}


def test_quotes_on_the_ticks_topic_are_skipped_not_rejected(
    core_env: dict[str, Any], bindings: Bindings, trader: Trader, set_price: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_price("AAPL", "190")
    order = resting(trader, core_env, bindings, limit_price="150", client_order_id="m-quote")
    quote = Envelope.new(
        QUOTE_EVENT,
        {"symbol": "AAPL", "bid": "149", "bid_size": "1", "ask": "149.1", "ask_size": "1",
         "ts": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()},
        producer="test",
    )  # fmt: skip
    from tradeplane.observability import logger

    errors: list[str] = []
    monkeypatch.setattr(logger, "error", lambda msg, *a, **kw: errors.append(msg))
    assert match(bindings, core_env, quote, tick("AAPL", "149.5")) == {"points": 1, "fills": 1, "orders_changed": 1}
    assert errors == []  # a quote is not a bad record
    assert status(core_env["dsn"], order["id"]) == ("filled", 10)
