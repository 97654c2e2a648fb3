"""Client order ids, signal ids and the runner's handling of revised and already-seen bars."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from tp_strategy.core_client import CoreClient
from tp_strategy.enabled import EnabledCache, EnabledStrategy
from tp_strategy.interface import BarInput, State, Target
from tp_strategy.runner import Runner
from tp_strategy.runner_state import StateStore, Working, rebuild, state_key
from tp_strategy.signals import client_order_id, signal_id
from tradeplane.contracts.market import Bar

T0 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
SYMBOLS = st.from_regex(r"[A-Z][A-Z0-9.\-]{0,15}", fullmatch=True)
TIMES = st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC)
)


@given(st.uuids(), SYMBOLS, TIMES)
def test_client_order_id_fits_alpaca_and_names_the_bar(strategy: uuid.UUID, symbol: str, ts: datetime) -> None:
    cid = client_order_id(strategy, symbol, ts)
    assert len(cid) <= 48 and cid.startswith("st-") and cid.endswith(f"{ts:%Y%m%d%H%M}")
    assert cid == client_order_id(strategy, symbol, ts)  # a redelivered bar derives the same id


def test_client_order_id_differs_by_strategy_symbol_and_bar() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    ids = {
        client_order_id(s, sym, T0 + timedelta(minutes=m)) for s in (a, b) for sym in ("AAPL", "MSFT") for m in (0, 1)
    }
    assert len(ids) == 8
    assert signal_id(a, "AAPL", T0) == signal_id(a, "AAPL", T0) != signal_id(a, "AAPL", T0 + timedelta(minutes=1))


class Counter:
    """A test strategy: counts the bars it sees; its state is the running count."""

    type_name: ClassVar[str] = "counter"

    class Params(BaseModel):
        pass

    def __init__(self, params: BaseModel | None = None) -> None:
        self.seen: list[datetime] = []

    @property
    def warmup(self) -> int:
        return 3

    def initial_state(self) -> State:
        return {"n": 0}

    def on_bar(self, state: State, bar: BarInput) -> Target | None:
        state["n"] += 1
        self.seen.append(bar.ts)
        return None


class FakeRedis:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def mget(self, keys: list[str]) -> list[Any]:
        return [self.data.get(k) for k in keys]

    def pipeline(self, transaction: bool = False) -> FakeRedis:
        return self

    def set(self, key: str, value: str, ex: int) -> None:
        self.data[key] = value

    def execute(self) -> None:
        pass


def bar(minute: int, revision: int = 0) -> Bar:
    p = Decimal("100") + minute
    return Bar(symbol="AAPL", interval="1m", bucket_start=T0 + timedelta(minutes=minute), open=p, high=p, low=p,
               close=p, volume=Decimal(10), trade_count=1, revision=revision)  # fmt: skip


@pytest.fixture
def setup() -> tuple[Runner, Counter, FakeRedis, list[datetime]]:
    strategy = EnabledStrategy(
        uuid.uuid4(), uuid.uuid4(), "counter", {}, "1m", {"kind": "fixed_qty", "qty": "1"}, False, 1
    )
    counter, redis, history_asked = Counter(), FakeRedis(), []

    def history(symbol: str, timeframe: str, before: datetime, n: int) -> list[BarInput]:
        history_asked.append(before)
        return [BarInput(symbol, before - timedelta(minutes=k), *[Decimal(1)] * 5) for k in range(n, 0, -1)]

    def no(*a: Any, **k: Any) -> Any:
        raise AssertionError("not expected here")

    runner = Runner(
        enabled=EnabledCache(lambda s, tf: [strategy] if (s, tf) == ("AAPL", "1m") else []).get,
        states=StateStore(lambda: redis), core=CoreClient("http://unused", no, transport=no), build=lambda s: counter,
        history=history, last_direction=lambda *a: None, size=no, transaction=no, publish=no, flush=lambda: None,
    )  # fmt: skip
    return runner, counter, redis, history_asked


def test_missing_state_is_rebuilt_from_the_bars_before(setup: Any) -> None:
    runner, counter, redis, asked = setup
    out = runner.run([bar(0), bar(1)], budget_s=10)
    assert asked == [T0] and out.rebuilt == 1 and out.runs == 2
    assert counter.seen[:3] == [T0 - timedelta(minutes=k) for k in (3, 2, 1)] and counter.seen[3:] == [
        T0,
        bar(1).bucket_start,
    ]
    (raw,) = redis.data.values()
    stored = Working.from_json(raw)
    assert stored is not None and stored.state == {"n": 5} and stored.last_ts == bar(1).bucket_start


def test_redelivered_and_revised_bars_change_nothing(setup: Any) -> None:
    runner, counter, redis, asked = setup
    runner.run([bar(0), bar(1)], budget_s=10)
    before, calls = dict(redis.data), len(counter.seen)
    again = runner.run([bar(0), bar(1, revision=1), bar(1)], budget_s=10)
    assert (again.seen, again.revisions, again.runs) == (2, 1, 0)
    assert len(counter.seen) == calls and redis.data == before
    assert runner.run([bar(2)], budget_s=10).runs == 1 and len(asked) == 1  # the stored state, not a rebuild


def test_a_batch_reads_every_state_it_touches_in_one_mget(setup: Any) -> None:
    runner, _, redis, _ = setup
    (strategy,) = runner.enabled("AAPL", "1m")
    runner.enabled = lambda symbol, timeframe: [strategy]  # the strategy trades every symbol
    reads: list[list[str]] = []
    mget = redis.mget
    redis.mget = lambda keys: reads.append(list(keys)) or mget(keys)
    symbols = ("AAPL", "MSFT", "NVDA")
    out = runner.run([bar(m).model_copy(update={"symbol": s}) for m in (0, 1) for s in symbols], budget_s=10)
    assert out.runs == 6 and out.rebuilt == 3
    assert reads == [[state_key(strategy.id, strategy.version, s) for s in symbols]]


def test_other_symbols_and_timeframes_run_nothing(setup: Any) -> None:
    runner, counter, redis, _ = setup
    other = bar(0).model_copy(update={"symbol": "MSFT"})
    hourly = bar(0).model_copy(update={"interval": "1h"})
    assert runner.run([other, hourly], budget_s=10).runs == 0 and not redis.data and not counter.seen


def test_unreadable_state_is_rebuilt_not_trusted() -> None:
    assert Working.from_json(b"{not json") is None and Working.from_json('{"state": 3}') is None
    counter = Counter()
    working = rebuild(counter, [BarInput("AAPL", T0, *[Decimal(1)] * 5)])
    assert working.state == {"n": 1} and working.last_ts == T0
    assert state_key("abc", 2, "AAPL") == "strat:abc:v2:AAPL"


def test_a_strategy_that_no_longer_builds_is_skipped_not_retried_forever(setup: Any) -> None:
    runner, _, redis, _ = setup

    def broken(strategy: EnabledStrategy) -> Any:
        raise ValueError("unknown strategy type 'gone'")

    runner.build = broken
    out = runner.run([bar(0), bar(1)], budget_s=10)
    assert (out.broken, out.runs) == (2, 0) and not redis.data


def test_a_rebuilt_state_holds_the_direction_of_the_last_signal() -> None:
    class Holder(Counter):
        def initial_state(self) -> State:
            return {"n": 0, "direction": 0}

    history = [BarInput("AAPL", T0, *[Decimal(1)] * 5)]
    assert rebuild(Holder(), history, -1).state == {"n": 1, "direction": -1}
    assert rebuild(Holder(), history, None).state["direction"] == 0
    assert "direction" not in rebuild(Counter(), history, 1).state  # a strategy without one is left alone
