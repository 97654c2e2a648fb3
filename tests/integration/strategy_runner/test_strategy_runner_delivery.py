"""The runner on real Postgres, Redis and Kafka with the Core API in-process: redelivered bars, a Core API
outage and a Redis flush never cost a signal and never make a second order."""

from __future__ import annotations

import uuid
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
import redis
from support.core_api import Api, Trader
from support.execution import call, list_instrument, msk_event, outbox_envelopes
from support.strategy_runner import (
    Outage,
    bar_event,
    insert_strategy,
    make_bars,
    run,
    signals_of,
    store_bars,
    strategy_orders,
    strategy_runner,
)
from tp_strategy.core_client import CoreUnavailableError
from tp_strategy.interface import BarInput
from tp_strategy.registry import build
from tradeplane.contracts.market import Bar
from tradeplane_tools.manifest import Bindings

pytestmark = pytest.mark.integration

# Fast 2 / slow 4 simple averages over these closes cross up, down, up and down again.
CLOSES = [
    "10",
    "10",
    "10",
    "10",
    "11",
    "12",
    "13",
    "12",
    "11",
    "10",
    "9",
    "9",
    "10",
    "11",
    "12",
    "13",
    "12",
    "10",
    "9",
    "8",
]


def expected_targets(bars: list[Bar], params: dict[str, Any], kind: str = "ma_crossover") -> list[tuple[Any, int]]:
    """The reference: the strategy over every bar in memory, no I/O."""
    strategy = build(kind, params)
    state = strategy.initial_state()
    out = []
    for b in bars:
        target = strategy.on_bar(state, BarInput(b.symbol, b.bucket_start, b.open, b.high, b.low, b.close, b.volume))
        if target is not None:
            out.append((b.bucket_start, target.direction))
    return out


def symbol() -> str:
    return "S" + uuid.uuid4().hex[:6].upper()  # the runner caches enabled strategies per symbol: one per test


@pytest.fixture
def market(core_env: dict[str, Any], set_price: Any) -> Any:
    def make(closes: list[str] = CLOSES) -> tuple[str, list[Bar]]:
        sym = symbol()
        list_instrument(core_env["dsn"], sym)
        set_price(sym, closes[-1])
        bars = make_bars(sym, closes)
        store_bars(core_env["dsn"], bars)
        return sym, bars

    return make


def test_a_batch_delivered_twice_raises_each_signal_once_and_orders_once(
    core_env: dict[str, Any], bindings: Bindings, api: Api, trader: Trader, market: Any, published: list[Any]
) -> None:
    sym, bars = market()
    sid = insert_strategy(core_env["dsn"], trader.account_id, [sym], allow_short=True)
    event = bar_event(bars, core_env["kafka"])
    with strategy_runner(bindings, api) as module:
        first = run(module, event)
        again = run(module, event)
    want = expected_targets(bars, {"fast": 2, "slow": 4})
    assert len(want) >= 3
    stored = signals_of(core_env["dsn"], sid)
    assert [(s["bar_ts"], s["direction"]) for s in stored] == want
    assert first["signals"] == len(want) and again["signals"] == 0 and again["seen"] == len(bars)
    orders = strategy_orders(core_env["dsn"], trader.account_id)
    assert [o["client_order_id"] for o in orders] == [
        s["client_order_id"] for s in stored if s["status"] == "submitted"
    ]
    assert len(orders) == first["submitted"] >= 1
    # First signal: long 10 from flat. The positions never move (no executor here), so each later reversal
    # is sized against flat too: 10 either way.
    assert (orders[0]["side"], orders[0]["qty"]) == ("buy", Decimal(10))
    signal_events = [env for topic, key, env in published if topic == "signals" and key == str(sid)]
    assert {env.id for env in signal_events} == {str(s["id"]) for s in stored}


def long_only_until_first_signal(core_env: dict[str, Any], trader: Trader, market: Any) -> tuple[Any, list[Bar], int]:
    """A long-only crossover on a fresh symbol: its id, the bars, and the index of the bar of its first signal."""
    sym, bars = market()
    sid = insert_strategy(core_env["dsn"], trader.account_id, [sym])
    first = expected_targets(bars, {"fast": 2, "slow": 4})[0][0]
    return sid, bars, next(i for i, b in enumerate(bars) if b.bucket_start == first)


def test_core_outage_is_retried_then_redelivered_without_a_duplicate_order(
    core_env: dict[str, Any], bindings: Bindings, api: Api, trader: Trader, market: Any
) -> None:
    sid, bars, first_signal = long_only_until_first_signal(core_env, trader, market)
    # The gateway down for the budget (2 s after the margin): the batch fails, nothing is sent.
    with strategy_runner(bindings, api, TP_BUDGET_MARGIN_S="8") as module:
        healthy = module.RUNNER.core.transport
        module.RUNNER.core.transport = Outage(healthy, [ConnectionRefusedError("gateway down")] * 100)
        run(module, bar_event(bars[:first_signal], core_env["kafka"]))  # no signal yet: the API is not needed
        with pytest.raises(CoreUnavailableError):
            run(module, bar_event(bars[first_signal : first_signal + 1], core_env["kafka"], first_signal))
        assert [s["status"] for s in signals_of(core_env["dsn"], sid)] == ["raised"]
        assert strategy_orders(core_env["dsn"], trader.account_id) == []
        # Kafka delivers the bar again; the gateway 503s twice, then the order's answer is lost once after
        # the order was made: retried inside the call, the Core API answers the same order.
        module.RUNNER.core.transport = Outage(healthy, [503, 503, "pass", "pass", "pass", "lost"])
        out = run(module, bar_event(bars[first_signal : first_signal + 1], core_env["kafka"], first_signal))
        module.RUNNER.core.transport = healthy
    assert out["submitted"] == 1
    orders = strategy_orders(core_env["dsn"], trader.account_id)
    stored = signals_of(core_env["dsn"], sid)
    assert len(orders) == 1 and orders[0]["client_order_id"] == stored[0]["client_order_id"]
    assert [s["status"] for s in stored] == ["submitted"]


def test_order_lost_after_it_was_made_is_not_made_again_on_redelivery(
    core_env: dict[str, Any], bindings: Bindings, api: Api, trader: Trader, market: Any
) -> None:
    sid, bars, first_signal = long_only_until_first_signal(core_env, trader, market)
    upto = first_signal + 1
    with strategy_runner(bindings, api, TP_BUDGET_MARGIN_S="8") as module:
        healthy = module.RUNNER.core.transport
        # account and position answered; the order reaches the Core API and every answer after it is lost
        module.RUNNER.core.transport = LoseAfter(healthy, "POST")
        with pytest.raises(CoreUnavailableError):
            run(module, bar_event(bars[:upto], core_env["kafka"]))
        assert len(strategy_orders(core_env["dsn"], trader.account_id)) == 1  # made, but the runner never heard
        module.RUNNER.core.transport = healthy
        out = run(module, bar_event(bars[:upto], core_env["kafka"]))
    assert out["submitted"] == 1 and len(strategy_orders(core_env["dsn"], trader.account_id)) == 1
    assert [s["status"] for s in signals_of(core_env["dsn"], sid)] == ["submitted"]


class LoseAfter:
    """Passes calls through until a `method` call reaches the API; its answer and every later one are lost."""

    def __init__(self, inner: Any, method: str) -> None:
        self.inner, self.method, self.broken = inner, method, False

    def __call__(self, method: str, url: str, headers: Any, body: Any, timeout: float) -> Any:
        if self.broken:
            raise TimeoutError("no answer")
        reply = self.inner(method, url, headers, body, timeout)
        if method == self.method:
            self.broken = True
            raise TimeoutError("the answer was lost")
        return reply


@pytest.mark.parametrize(
    ("kind", "params"),
    [("ma_crossover", {"fast": 2, "slow": 4}), ("bollinger_reversion", {"period": 4, "k": 1.0})],
)
def test_redis_flush_rebuilds_state_from_stored_bars_and_the_same_signals_follow(
    core_env: dict[str, Any], bindings: Bindings, api: Api, trader: Trader, market: Any, kind: str,
    params: dict[str, Any],
) -> None:  # fmt: skip
    """A reversion rule's held direction depends on the whole path: the rebuild takes it from the last signal."""
    sym, bars = market()
    sid = insert_strategy(core_env["dsn"], trader.account_id, [sym], type=kind, params=params, allow_short=True)
    want = expected_targets(bars, params, kind)
    assert len(want) >= 3
    # Flush in the middle of each held position (between two signals), where only the last signal knows it.
    signal_bars = [i for i, b in enumerate(bars) if b.bucket_start in {ts for ts, _ in want}]
    flushed_at = {(a + b + 1) // 2 for a, b in pairwise(signal_bars) if b - a > 1}
    assert flushed_at
    rebuilt = 0
    with strategy_runner(bindings, api) as module:
        for i, b in enumerate(bars):
            if i in flushed_at:
                redis.Redis.from_url(core_env["redis_url"]).flushdb()
            rebuilt += run(module, bar_event([b], core_env["kafka"], i))["rebuilt"]
    assert rebuilt == 1 + len(flushed_at)
    stored = signals_of(core_env["dsn"], sid)
    assert [(s["bar_ts"], s["direction"]) for s in stored] == want


def entry_then_exit(core_env: dict[str, Any], trader: Trader, market: Any) -> tuple[Any, list[Bar], int]:
    """A long-only crossover (the trader's account may not short): its id, the bars, and the index of the bar
    of its exit, the signal after its first entry."""
    sid, bars, _ = long_only_until_first_signal(core_env, trader, market)
    exit_ts = expected_targets(bars, {"fast": 2, "slow": 4})[1][0]
    return sid, bars, next(i for i, b in enumerate(bars) if b.bucket_start == exit_ts)


def test_an_exit_before_the_entry_filled_cancels_the_entry_instead_of_failing(
    core_env: dict[str, Any], bindings: Bindings, api: Api, trader: Trader, market: Any
) -> None:
    """Entry and exit in one batch, no executor in between: the entry is still open when the exit is sized.
    A sell of what is not held yet would be refused (no shorting) and the exit would end `failed`."""
    sid, bars, exit_bar = entry_then_exit(core_env, trader, market)
    event = bar_event(bars[: exit_bar + 1], core_env["kafka"])
    with strategy_runner(bindings, api) as module:
        first = run(module, event)
        again = run(module, event)  # redelivered: nothing new is cancelled, sized or sent
    stored = signals_of(core_env["dsn"], sid)
    assert [(s["direction"], s["status"]) for s in stored] == [(1, "submitted"), (-1, "skipped")], stored[1]["detail"]
    assert "position 0 already meets the target" in stored[1]["detail"]
    orders = strategy_orders(core_env["dsn"], trader.account_id)
    assert [(o["client_order_id"], o["side"], o["status"]) for o in orders] == [
        (stored[0]["client_order_id"], "buy", "canceled")
    ]
    assert (first["submitted"], first["skipped"], first["failed"]) == (1, 1, 0)
    assert again["signals"] == 0 and again["seen"] == exit_bar + 1


def test_an_exit_after_its_entry_filled_sells_what_filled(
    core_env: dict[str, Any], bindings: Bindings, api: Api, trader: Trader, market: Any
) -> None:
    sid, bars, exit_bar = entry_then_exit(core_env, trader, market)
    with strategy_runner(bindings, api) as module:
        run(module, bar_event(bars[:exit_bar], core_env["kafka"]))
        call("executor", bindings, msk_event(outbox_envelopes(core_env["dsn"], trader.account_id), core_env["kafka"]))
        run(module, bar_event(bars[exit_bar : exit_bar + 1], core_env["kafka"], exit_bar))
    stored = signals_of(core_env["dsn"], sid)
    assert [s["status"] for s in stored] == ["submitted", "submitted"]
    orders = strategy_orders(core_env["dsn"], trader.account_id)
    assert [(o["side"], o["qty"], o["status"]) for o in orders] == [("buy", 10, "filled"), ("sell", 10, "accepted")]


def test_a_cancel_whose_answer_was_lost_is_finished_on_redelivery(
    core_env: dict[str, Any], bindings: Bindings, api: Api, trader: Trader, market: Any
) -> None:
    sid, bars, exit_bar = entry_then_exit(core_env, trader, market)
    with strategy_runner(bindings, api, TP_BUDGET_MARGIN_S="8") as module:
        run(module, bar_event(bars[:exit_bar], core_env["kafka"]))
        healthy = module.RUNNER.core.transport
        module.RUNNER.core.transport = LoseAfter(healthy, "DELETE")
        exit_event = bar_event(bars[exit_bar : exit_bar + 1], core_env["kafka"], exit_bar)
        with pytest.raises(CoreUnavailableError):
            run(module, exit_event)
        assert [s["status"] for s in signals_of(core_env["dsn"], sid)] == ["submitted", "raised"]
        module.RUNNER.core.transport = healthy
        out = run(module, exit_event)
    assert (out["signals"], out["skipped"], out["failed"]) == (1, 1, 0)
    assert [s["status"] for s in signals_of(core_env["dsn"], sid)] == ["submitted", "skipped"]
    assert [o["status"] for o in strategy_orders(core_env["dsn"], trader.account_id)] == ["canceled"]
