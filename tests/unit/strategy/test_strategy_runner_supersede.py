"""A new signal cancels the strategy's own still-open orders in the symbol, then sizes against what filled."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tp_strategy import signals
from tp_strategy.core_client import Account
from tp_strategy.enabled import EnabledStrategy
from tp_strategy.interface import Target
from tp_strategy.runner import Raised, Runner, size_order
from tradeplane.contracts.market import Bar

T0 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


class PartlyFilledEntry:
    """The Core API with the strategy's entry (buy 10) open and 4 filled, and someone else's open order."""

    def __init__(self, strategy_id: uuid.UUID) -> None:
        entry = signals.client_order_id(strategy_id, "SPY", T0)
        self.orders = [
            {"id": "entry", "client_order_id": entry, "side": "buy", "qty": "10", "filled_qty": "4"},
            {"id": "other", "client_order_id": "by-hand-1", "side": "sell", "qty": "2", "filled_qty": "0"},
        ]
        self.filled, self.cancelled = Decimal(4), []  # type: ignore[var-annotated]

    def open_orders(self, account_id: str, symbol: str) -> list[dict[str, Any]]:
        return [o for o in self.orders if o["id"] not in self.cancelled]

    def cancel(self, account_id: str, order_id: str) -> None:
        self.cancelled.append(order_id)

    def wait_closed(self, account_id: str, symbol: str, order_ids: set[str]) -> list[dict[str, Any]]:
        return self.open_orders(account_id, symbol)

    def account(self, account_id: str) -> Account:
        return Account(Decimal(100000), Decimal(100000))

    def position_qty(self, account_id: str, symbol: str) -> Decimal:
        return self.filled


def test_an_exit_cancels_the_open_entry_and_sizes_against_what_filled() -> None:
    sid = uuid.uuid4()
    sizing = {"kind": "fixed_qty", "qty": "10"}
    strategy = EnabledStrategy(sid, uuid.uuid4(), "ma_crossover", {}, "1m", sizing, False, 1)
    core = PartlyFilledEntry(sid)
    runner = Runner(
        enabled=None, states=None, core=core, build=None, history=None, last_direction=None,  # type: ignore[arg-type]
        size=size_order, transaction=None, publish=None, flush=None,  # type: ignore[arg-type]
    )  # fmt: skip
    exit_bar = Bar(
        symbol="SPY", interval="1m", bucket_start=T0 + timedelta(minutes=3), open=Decimal(100), high=Decimal(101),
        low=Decimal(99), close=Decimal(100), volume=Decimal(1), trade_count=1,
    )  # fmt: skip
    target = Target(0, "exit")
    signal = signals.Signal(signals.signal_id(sid, "SPY", exit_bar.bucket_start), sid, "SPY",
                            exit_bar.bucket_start, 0, "exit", "raised")  # fmt: skip
    change = runner._plan(Raised(strategy, exit_bar, target, signal))
    assert core.cancelled == ["entry"]  # only the strategy's own order
    # Sized against the 4 filled and the other order still to fill (-2): sell 2 to reach flat.
    assert (change.side, change.qty, change.status) == ("sell", Decimal(2), None)
    assert change.order_id == signals.client_order_id(sid, "SPY", exit_bar.bucket_start)


def test_placed_by_recognises_only_the_strategys_own_ids() -> None:
    sid = uuid.uuid4()
    own = signals.client_order_id(sid, "SPY", T0)
    assert signals.placed_by(sid, "SPY", own)
    assert not signals.placed_by(uuid.uuid4(), "SPY", own)
    assert not signals.placed_by(sid, "QQQ", own)
    for other in (None, "", "by-hand-1", own[:-12] + "notadatetime", "st-" + "0" * 24 + "-202611241430"):
        assert not signals.placed_by(sid, "SPY", other)
