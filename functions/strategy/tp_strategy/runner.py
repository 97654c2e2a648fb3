"""The live strategy runner: closed bars in, signals stored and published, orders sent through the Core API.

For each bar, in the order Kafka delivered them (one symbol's bars share a partition):

1. A revised bar (`revision > 0`: a late tick changed a bar already published) is not run.
   The strategy acted on the bar as first closed; running it again would mean a second
   decision for one bar, and the signal key (strategy, symbol, bar) allows one. The revision
   is in `market.bars`, so a later rebuild of the state reads the corrected values.
2. The enabled strategies of the bar's symbol and timeframe (`enabled`, cached briefly).
3. Each one's working state from Redis (the whole batch's in one read), rebuilt from stored bars and
   the direction of its last stored signal when missing (`runner_state`). A bar at or before the
   state's last bar was seen already (a redelivery): it changes nothing.
4. `on_bar`; the batch's targets become signals (`signals`), stored in one transaction and
   published, then sized against the account and position the Core API reports (the strategy's
   own still-open orders in the symbol cancelled first: a new target supersedes them) and sent as
   market orders whose client_order_id is derived from strategy, symbol and bar. Orders go in
   rounds per (account, symbol), the Core API called concurrently across them.
5. After the whole batch: the producer is flushed, then the states are written. A batch that
   fails anywhere leaves every state where it was, so its redelivery recomputes the same
   targets and finds their signals (and planned orders) already stored.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from itertools import zip_longest
from typing import Any, Protocol

from psycopg import Connection
from tradeplane.contracts.market import Bar
from tradeplane.contracts.topics import SIGNALS
from tradeplane.envelope import Envelope

from tp_strategy import signals
from tp_strategy.core_client import Account, CoreClient, CoreRefusedError, unfilled_qty
from tp_strategy.enabled import EnabledStrategy
from tp_strategy.interface import BarInput, Strategy, Target
from tp_strategy.runner_state import StateStore, Working, rebuild, state_key

PRODUCER = "strategy_runner"


class Sizer(Protocol):
    def __call__(
        self, strategy: EnabledStrategy, target: Target, price: Decimal, account: Account, position: Decimal
    ) -> Decimal:
        """The signed order quantity that takes `position` to `target` (0: nothing to do)."""
        ...


History = Callable[[str, str, datetime, int], Sequence[BarInput]]  # symbol, timeframe, before, how many


@dataclass
class Outcome:
    bars: int = 0
    revisions: int = 0  # revised bars, not run
    seen: int = 0  # (strategy, bar) pairs already folded into the state: redeliveries
    runs: int = 0  # on_bar calls
    rebuilt: int = 0  # states rebuilt from stored bars
    signals: int = 0
    submitted: int = 0
    skipped: int = 0  # sized to nothing: already at the target
    failed: int = 0  # refused by the Core API (inactive account, risk limits, ...) or a bad sizing rule
    broken: int = 0  # (strategy, bar) pairs skipped: the stored type or parameters no longer build


def bar_input(bar: Bar) -> BarInput:
    return BarInput(bar.symbol, bar.bucket_start, bar.open, bar.high, bar.low, bar.close, bar.volume)


@dataclass(frozen=True)
class Raised:
    """A target a strategy raised on a bar, and (once stored) its signal row."""

    strategy: EnabledStrategy
    bar: Bar
    target: Target
    signal: signals.Signal | None = None


@dataclass
class Runner:
    enabled: Callable[[str, str], list[EnabledStrategy]]
    states: StateStore
    core: CoreClient
    build: Callable[[EnabledStrategy], Strategy]
    history: History
    last_direction: Callable[[uuid.UUID, str, datetime], int | None]  # of the last stored signal before a bar
    size: Sizer
    transaction: Callable[[], AbstractContextManager[Connection[Any]]]
    publish: Callable[[str, str, Envelope], None]
    flush: Callable[[], None]
    producer: str = PRODUCER
    clock: Callable[[], float] = time.monotonic
    concurrency: int = 8  # Core API calls in flight at once, each for a different (account, symbol)
    _instances: dict[tuple[uuid.UUID, int], Strategy | None] = field(default_factory=dict)
    _pool: ThreadPoolExecutor | None = None

    def run(self, bars: Sequence[Bar], *, budget_s: float, correlation_id: str | None = None) -> Outcome:
        """Run one batch of closed bars; raises (the batch is redelivered) when the Core API stays down."""
        self.core.deadline = self.clock() + budget_s
        out = Outcome()
        work: list[tuple[Bar, list[EnabledStrategy], list[str]]] = []
        for bar in bars:
            out.bars += 1
            if bar.revision > 0:
                out.revisions += 1
                continue
            strategies = self.enabled(bar.symbol, bar.interval)
            work.append((bar, strategies, [state_key(s.id, s.version, bar.symbol) for s in strategies]))
        # Every state the batch touches in one read: nothing writes them before the batch ends.
        states = self.states.load(list(dict.fromkeys(k for _, _, keys in work for k in keys)))
        dirty: dict[str, Working] = {}
        raised: list[Raised] = []
        for bar, strategies, keys in work:
            for strategy, key in zip(strategies, keys, strict=True):
                instance = self._instance(strategy)
                if instance is None:
                    out.broken += 1
                    continue
                working = states.get(key)
                if working is None:
                    history = self.history(bar.symbol, bar.interval, bar.bucket_start, instance.warmup)
                    held = self.last_direction(strategy.id, bar.symbol, bar.bucket_start)
                    working = states[key] = rebuild(instance, history, held)
                    out.rebuilt += 1
                if working.seen(bar.bucket_start):
                    out.seen += 1
                    continue
                target = instance.on_bar(working.state, bar_input(bar))
                working.last_ts = bar.bucket_start
                dirty[key] = working
                out.runs += 1
                if target is not None:
                    raised.append(Raised(strategy, bar, target))
        if raised:
            self._signals(raised, correlation_id, out)
        self.flush()  # every signal acknowledged before any state moves past its bar
        self.states.save(dirty)
        return out

    def _signals(self, raised: list[Raised], correlation_id: str | None, out: Outcome) -> None:
        """Store the batch's signals in one transaction, publish them, then place their orders.

        Orders go out in rounds: round k takes the k-th pending signal of every (account, symbol), so a
        strategy's signals keep their bar order and signals sized against the same position never race;
        within a round the Core API is called concurrently (bounded), and the round's plans, then its
        outcomes, are written in one transaction each.
        """
        with self.transaction() as conn:
            rows = [(r.strategy.id, r.bar.symbol, r.bar.bucket_start, r.target) for r in raised]
            stored = signals.record_many(conn, rows)
        out.signals += len(stored)
        lanes: dict[tuple[uuid.UUID, str], list[Raised]] = {}
        for item, signal in zip(raised, stored, strict=True):
            envelope = signals.signal_envelope(
                signal, item.strategy.account_id, producer=self.producer, correlation_id=correlation_id
            )
            self.publish(SIGNALS, str(item.strategy.id), envelope)
            if not signal.final:
                lanes.setdefault((item.strategy.account_id, item.bar.symbol), []).append(replace(item, signal=signal))
        for round_ in zip_longest(*lanes.values()):
            self._round([item for item in round_ if item is not None], out)

    def _round(self, items: list[Raised], out: Outcome) -> None:
        """Plan what is not planned yet, write the plans; send the planned orders, write how they ended."""
        planned = {id(i): i.signal for i in items if i.signal is not None and i.signal.planned}
        changes, error = self._each(self._plan, [i for i in items if id(i) not in planned])
        for item, signal in self._write(changes, out):
            if not signal.final:
                planned[id(item)] = signal
        sent, later = self._each(self._send, [replace(i, signal=planned[id(i)]) for i in items if id(i) in planned])
        self._write(sent, out)
        if error is not None or later is not None:
            raise error or later  # type: ignore[misc]  # what was decided is written; Kafka redelivers the batch

    def _write(self, changes: list[tuple[Raised, signals.Change]], out: Outcome) -> list[tuple[Raised, signals.Signal]]:
        """A round's changes in one transaction, counted by the status they leave."""
        if not changes:
            return []
        with self.transaction() as conn:
            written = signals.apply(conn, [c for _, c in changes])
        for signal in written:
            if signal.status in ("submitted", "skipped", "failed"):
                setattr(out, signal.status, getattr(out, signal.status) + 1)
        return [(item, signal) for (item, _), signal in zip(changes, written, strict=True)]

    def _each(
        self, step: Callable[[Raised], signals.Change], items: list[Raised]
    ) -> tuple[list[tuple[Raised, signals.Change]], BaseException | None]:
        """`step` over items, concurrently up to `concurrency`; the changes made, and the first error if any."""
        if not items:
            return [], None
        if len(items) == 1 or self.concurrency <= 1:
            results = [self._catch(step, i) for i in items]
        else:
            if self._pool is None:  # kept for the container's life: starting threads per round cost more than the calls
                self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="core")
            results = list(self._pool.map(lambda i: self._catch(step, i), items))
        done = [(i, r) for i, r in zip(items, results, strict=True) if isinstance(r, signals.Change)]
        errors = [r for r in results if isinstance(r, BaseException)]
        return done, (errors[0] if errors else None)

    @staticmethod
    def _catch(step: Callable[[Raised], signals.Change], item: Raised) -> signals.Change | BaseException:
        try:
            return step(item)
        except (CoreRefusedError, ValueError) as exc:  # a refusal, or a stored sizing rule that does not parse
            assert item.signal is not None
            return signals.Change(item.signal, "failed", f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # noqa: BLE001 - CoreUnavailableError and the like: re-raised after the round
            return exc

    def _send(self, item: Raised) -> signals.Change:
        signal = item.signal
        assert signal is not None and signal.order_side is not None and signal.order_qty is not None
        assert signal.client_order_id
        self.core.submit_market(
            str(item.strategy.account_id), item.bar.symbol, signal.order_side, signal.order_qty, signal.client_order_id
        )
        return signals.Change(signal, "submitted")

    def _instance(self, strategy: EnabledStrategy) -> Strategy | None:
        """The strategy object (kept per version); None when its stored type or parameters do not build.

        The API validates both before it stores them, so this only happens when a type was removed or
        its parameters changed meaning; retrying the batch cannot fix it, so that strategy is skipped.
        """
        key = (strategy.id, strategy.version)
        if key in self._instances:
            return self._instances[key]
        if len(self._instances) > 1_000:
            self._instances.clear()
        try:
            found: Strategy | None = self.build(strategy)
        except ValueError as exc:  # registry.StrategyError
            from tradeplane.observability import logger

            logger.error("strategy does not build", extra={"strategy_id": str(strategy.id), "error": str(exc)[:300]})
            found = None
        self._instances[key] = found
        return found

    def _plan(self, item: Raised) -> signals.Change:
        """Size the target against the account now; the order to write down before it is sent.

        The strategy's own orders in the symbol still open from earlier signals are cancelled first: a
        new target supersedes them (an exit while the entry is still open cancels the entry, then sells
        only what filled; on an account without shorting the Core API would refuse a sell of what is not
        held yet). Cancels are idempotent, so a redelivery that repeats them changes nothing.
        """
        strategy, bar, target, signal = item.strategy, item.bar, item.target, item.signal
        assert signal is not None
        account_id = str(strategy.account_id)
        orders = self.core.open_orders(account_id, bar.symbol)
        stale = {str(o["id"]) for o in orders if signals.placed_by(strategy.id, bar.symbol, o.get("client_order_id"))}
        for order_id in sorted(stale):
            self.core.cancel(account_id, order_id)
        if stale:
            orders = self.core.wait_closed(account_id, bar.symbol, stale)
        account = self.core.account(account_id)
        # What the account will hold once its open orders fill: another strategy's order may still be open.
        position = self.core.position_qty(account_id, bar.symbol) + unfilled_qty(orders)
        qty = self.size(strategy, target, bar.close, account, position)
        if qty == 0:
            return signals.Change(signal, "skipped", f"position {position} already meets the target")
        order_id = signals.client_order_id(strategy.id, bar.symbol, bar.bucket_start)
        return signals.Change(signal, qty=abs(qty), side="buy" if qty > 0 else "sell", order_id=order_id)


def size_order(
    strategy: EnabledStrategy, target: Target, price: Decimal, account: Account, position: Decimal
) -> Decimal:
    """`tp_strategy.sizing` with the strategy's rule, at the bar's close (the backtester sizes the same way)."""
    from tp_strategy.sizing import SizingRule, order_qty

    rule = SizingRule.model_validate(strategy.sizing)
    return order_qty(
        rule, target.direction, price=price, equity=account.equity, cash=account.cash, position=position,
        allow_short=strategy.allow_short,
    )  # fmt: skip


def live_runner(
    *,
    service_url: str,
    keyset: Callable[[], Any],
    audience: str,
    enabled_ttl_s: float,
    state_ttl_s: int,
    core_timeout_s: float,
    module_prefixes: Sequence[str] | None = None,
) -> Runner:
    """The runner on the container's Postgres, Redis, Kafka producer and the Core API at `service_url`."""
    from tradeplane import db, kafka_producer, redis_client

    from tp_strategy import bar_history, registry
    from tp_strategy.core_client import TokenCache, minter
    from tp_strategy.enabled import EnabledCache, load_enabled

    def enabled(symbol: str, timeframe: str) -> list[EnabledStrategy]:
        with db.connection() as conn:  # the primary: a strategy enabled a moment ago runs on the next bar
            return load_enabled(conn, symbol, timeframe)

    def history(symbol: str, timeframe: str, before: datetime, count: int) -> Sequence[BarInput]:
        with db.connection() as conn:
            return bar_history.last_closed_bars(conn, symbol, timeframe, before, count)

    def last_direction(strategy_id: uuid.UUID, symbol: str, before: datetime) -> int | None:
        with db.connection() as conn:
            return signals.last_direction(conn, strategy_id, symbol, before)

    def build(strategy: EnabledStrategy) -> Strategy:
        return registry.build(strategy.type, strategy.params, module_prefixes=module_prefixes)

    def publish(topic: str, key: str, envelope: Envelope) -> None:
        kafka_producer.publish(topic, key, envelope)

    tokens = TokenCache(minter(keyset, PRODUCER, audience))
    return Runner(
        enabled=EnabledCache(enabled, enabled_ttl_s).get,
        states=StateStore(redis_client.client, state_ttl_s),
        core=CoreClient(service_url, tokens, timeout_s=core_timeout_s),
        build=build,
        history=history,
        last_direction=last_direction,
        size=size_order,
        transaction=db.transaction,
        publish=publish,
        flush=kafka_producer.flush,
    )
