"""The backtest loop: bars one at a time through a strategy, its targets sized and filled like the paper venue.

Per bar, in this order:
1. with `fill_at="next_open"`, the order decided on the previous bar fills at this bar's open;
2. the strategy sees the closed bar and may answer a target;
3. a target is sized (`sizing.order_qty`) at the close, with the equity and cash of that moment, and
   either fills at once at the close (`fill_at="close"`) or waits for the next bar's open;
4. equity is marked at the close.

Fills come from `tradeplane.fill_model` (the paper venue's module): a market order at a price pays
slippage, and the commission is its `FeeSchedule` (bps of notional per side, rounded up to the cent);
`fixed_fee` is added per order. A buy that opens or adds to a long never spends more than the cash
(it is cut to what the cash affords at the fill price); shorts are not bounded by a margin model.
An order decided on the last bar has no next open and is left unfilled (reported as `pending`).

The loop stays cheap on bars without orders: one strategy call, one Decimal multiply-add for equity.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from operator import lt
from typing import overload

import numpy as np
from tradeplane.fill_model import FeeSchedule, FillConfig, Order, on_arrival

from tp_strategy.backtest.config import BacktestConfig
from tp_strategy.fast_path import FastSignals, Prices, Signals
from tp_strategy.interface import BarInput, Direction, Strategy
from tp_strategy.sizing import FRACTION, WHOLE, order_qty

ZERO = Decimal(0)
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Trade:
    """A round trip: opened by one fill, closed (wholly or in part) by a later one. Fees are both sides'."""

    side: str  # long | short
    qty: Decimal
    entry_ts: datetime
    entry_price: Decimal
    exit_ts: datetime
    exit_price: Decimal
    fees: Decimal
    pnl: Decimal  # net of fees
    bars: int

    @property
    def return_pct(self) -> float:
        cost = self.qty * self.entry_price
        return float(self.pnl / cost * 100) if cost else 0.0


@dataclass(frozen=True, slots=True)
class Execution:
    """One filled order."""

    ts: datetime
    side: str  # buy | sell
    qty: Decimal
    price: Decimal
    fee: Decimal
    reason: str


@dataclass
class _Open:
    sign: int
    qty: Decimal
    entry_ts: datetime
    entry_price: Decimal
    entry_fee: Decimal
    entry_bar: int


@dataclass
class Ledger:
    """Cash, position and the trade book as fills arrive."""

    cash: Decimal
    position: Decimal = ZERO
    open: _Open | None = None
    trades: list[Trade] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)

    def apply(self, ts: datetime, bar: int, qty: Decimal, price: Decimal, fee: Decimal, reason: str) -> None:
        sign = 1 if qty > 0 else -1
        size = abs(qty)
        self.cash -= qty * price + fee
        self.executions.append(Execution(ts, "buy" if sign > 0 else "sell", size, price, fee, reason))
        held = self.open
        closing = min(size, held.qty) if held is not None and held.sign != sign else ZERO
        if held is not None and closing:
            close_fee = fee * closing / size
            entry_fee = held.entry_fee * closing / held.qty
            pnl = (price - held.entry_price) * closing * held.sign - entry_fee - close_fee
            self.trades.append(
                Trade(
                    "long" if held.sign > 0 else "short",
                    closing,
                    held.entry_ts,
                    held.entry_price,
                    ts,
                    price,
                    entry_fee + close_fee,
                    pnl,
                    bar - held.entry_bar,
                )
            )
            held.qty -= closing
            held.entry_fee -= entry_fee
            if not held.qty:
                self.open = held = None
        opening = size - closing
        if opening:
            open_fee = fee * opening / size
            if held is None:
                self.open = _Open(sign, opening, ts, price, open_fee, bar)
            else:  # adding to the same side: average the entry
                held.entry_price = (held.entry_price * held.qty + price * opening) / (held.qty + opening)
                held.qty += opening
                held.entry_fee += open_fee
        self.position += qty


@dataclass
class Run:
    """What the loop produced; `metrics.summarize` turns it into the report."""

    config: BacktestConfig
    timestamps: list[datetime]
    equity: Sequence[Decimal]  # a list, or a MarkedCurve (the fast path)
    equity_f: list[float] | np.ndarray  # the same as floats, for the metrics (the fast path: a numpy array)
    exposed_bars: int
    ledger: Ledger
    signals: int
    pending: Decimal  # an order decided on the last bar, never filled
    last_close: Decimal | None


class _Filler:
    """The paper venue's fill model for market orders, plus the per-order fixed fee and the cash cap on buys."""

    def __init__(self, config: BacktestConfig) -> None:
        self.fill_config = FillConfig(slippage_bps=config.slippage_bps, fees=FeeSchedule(bps=config.commission_bps))
        self.fixed_fee = config.fixed_fee
        self.step = FRACTION if config.sizing.fractional else WHOLE
        self.sizing, self.allow_short = config.sizing, config.allow_short
        self._orders: dict[str, Order] = {}

    def size(self, direction: Direction, close: Decimal, cash: Decimal, position: Decimal) -> Decimal:
        """The order a target means at this close (`sizing.order_qty`, as the live runner sizes)."""
        return order_qty(
            self.sizing,
            direction,
            price=close,
            equity=cash + position * close,
            cash=cash,
            position=position,
            allow_short=self.allow_short,
        )

    def _order(self, qty: Decimal) -> Order:
        """The market order for `qty` (signed). Orders are immutable, and a run sends the same few sizes over
        and over (fixed quantities, reversals), so each is built once; keyed by its text, so a size
        written differently (10 vs 10.0) keeps its own order and the fills keep the size as it was written."""
        key = str(qty)
        order = self._orders.get(key)
        if order is None:
            order = Order("buy" if qty > 0 else "sell", "market", qty=abs(qty))
            if len(self._orders) < 1024:  # sizes that vary (all cash, percent) do not grow it without bound
                self._orders[key] = order
        return order

    def _fill(self, qty: Decimal, price: Decimal) -> tuple[Decimal, Decimal] | None:
        decision = on_arrival(self._order(qty), price, self.fill_config)
        if not decision.fills:
            return None
        fill = decision.fills[0]
        return fill.price, fill.fee + self.fixed_fee

    def execute(self, ledger: Ledger, ts: datetime, bar: int, qty: Decimal, price: Decimal, reason: str) -> None:
        filled = self._fill(qty, price)
        if filled is None:
            return
        fill_price, fee = filled
        if qty > 0 and ledger.position + qty > 0 and qty * fill_price + fee > ledger.cash:
            qty = self._affordable(ledger, qty, fill_price, price)
            if qty <= 0 or (filled := self._fill(qty, price)) is None:
                return
            fill_price, fee = filled
        ledger.apply(ts, bar, qty, fill_price, fee, reason)

    def _affordable(self, ledger: Ledger, qty: Decimal, fill_price: Decimal, price: Decimal) -> Decimal:
        """The largest buy the cash pays for, fees included.

        The estimate keeps a cent aside for the fee's rounding up, so it fits at once; the loop is a guard.
        """
        per_unit = fill_price * (1 + self.fill_config.fees.bps / 10_000)
        room = ledger.cash - self.fixed_fee - CENT
        qty = min(qty, (room / per_unit).quantize(self.step, rounding=ROUND_DOWN))
        while qty > 0:
            filled = self._fill(qty, price)
            if filled is not None and qty * filled[0] + filled[1] <= ledger.cash:
                break
            qty -= self.step
        return qty


def run_backtest(strategy: Strategy, bars: Iterable[BarInput], config: BacktestConfig, *, fast: bool = True) -> Run:
    """Drive `strategy` over `bars` (time order; a bar out of order is refused) and book what it asks for.

    A strategy with the fast path (`FastSignals`, every built-in) decides the whole series at once and the
    loop visits only the bars with an order; `fast=False` drives `on_bar` bar by bar (the two are tested equal).
    """
    if fast and isinstance(strategy, FastSignals):
        series = bars if isinstance(bars, Sequence) else list(bars)
        timestamps = _ordered_timestamps(series)
        prices = Prices(series)
        return _run_signals(strategy.signals(prices), series, prices, timestamps, config)
    return _run_bars(strategy, bars, config)


def _ordered_timestamps(series: Sequence[BarInput]) -> list[datetime]:
    timestamps = [bar.ts for bar in series]
    if not all(map(lt, timestamps, timestamps[1:])):  # one C-level pass; the message needs the Python one
        last_ts = timestamps[0]
        for ts in timestamps[1:]:
            if ts <= last_ts:
                raise ValueError(f"bars out of order: {ts.isoformat()} after {last_ts.isoformat()}")
            last_ts = ts
    return timestamps


def _run_signals(
    signals: Signals, series: Sequence[BarInput], prices: Prices, timestamps: list[datetime], config: BacktestConfig
) -> Run:
    """The bar loop's bookkeeping, visiting only the bars where an order is decided or filled.

    Between those bars cash and position do not change, so each stretch of bars is marked at once: the
    Decimal curve per bar as `cash + position * close` (as the bar loop), the float curve for the metrics
    with float maths over the whole series at the end.
    """
    ledger = Ledger(cash=config.cash)
    filler = _Filler(config)
    at_close = config.fill_at == "close"
    stretches: list[tuple[int, Decimal, Decimal]] = []  # (first bar, cash, position) in time order
    cash, position = ledger.cash, ZERO
    start = exposed = 0
    pending: tuple[Decimal, str, int] | None = None  # qty, reason, the bar whose open fills it

    def mark(end: int) -> None:
        """Bars [start, end) end with the current cash and position."""
        nonlocal start, exposed
        if end <= start:
            return
        if position:
            exposed += end - start
        stretches.append((start, cash, position))
        start = end

    for i, target in signals:
        if pending is not None:
            mark(pending[2])
            filler.execute(ledger, timestamps[pending[2]], pending[2], pending[0], series[pending[2]].open, pending[1])
            cash, position, pending = ledger.cash, ledger.position, None
        mark(i)
        close = series[i].close
        qty = filler.size(target.direction, close, cash, position)
        if qty and at_close:
            filler.execute(ledger, timestamps[i], i, qty, close, target.reason)
            cash, position = ledger.cash, ledger.position
        elif qty:
            pending = (qty, target.reason, i + 1)
    if pending is not None and pending[2] < len(series):
        mark(pending[2])
        filler.execute(ledger, timestamps[pending[2]], pending[2], pending[0], series[pending[2]].open, pending[1])
        cash, position, pending = ledger.cash, ledger.position, None
    mark(len(series))
    return Run(
        config,
        timestamps,
        MarkedCurve(stretches, series),
        _float_curve(stretches, prices),
        exposed,
        ledger,
        len(signals),
        pending[0] if pending else ZERO,
        series[-1].close if series else None,
    )


def _float_curve(stretches: list[tuple[int, Decimal, Decimal]], prices: Prices) -> np.ndarray:
    """Per bar `cash + position * close` in floats (for the metrics only; the money is the Decimal curve)."""
    if not stretches:
        return np.empty(0)
    lengths = np.diff([first for first, _, _ in stretches] + [len(prices.bars)])
    cash = np.repeat(np.array([float(c) for _, c, _ in stretches]), lengths)
    position = np.repeat(np.array([float(p) for _, _, p in stretches]), lengths)
    curve: np.ndarray = cash + position * prices.close_array
    return curve


class MarkedCurve(Sequence[Decimal]):
    """The Decimal equity per bar, `cash + position * close`, worked out when read: a report reads a few
    thousand points of a long curve and the metrics only the last one, so most bars never need the Decimal sum."""

    def __init__(self, stretches: list[tuple[int, Decimal, Decimal]], bars: Sequence[BarInput]) -> None:
        self._firsts = [first for first, _, _ in stretches]
        self._stretches = stretches
        self._bars = list(
            bars
        )  # a copy of the references (bars are frozen): a caller's later edit of its list changes nothing

    def __len__(self) -> int:
        return len(self._bars)

    @overload
    def __getitem__(self, i: int) -> Decimal: ...
    @overload
    def __getitem__(self, i: slice) -> list[Decimal]: ...
    def __getitem__(self, i: int | slice) -> Decimal | list[Decimal]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("equity index out of range")
        _, cash, position = self._stretches[bisect_right(self._firsts, i) - 1]
        return cash + position * self._bars[i].close if position else cash

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Sequence)
            and len(self) == len(other)
            and all(a == b for a, b in zip(self, other, strict=True))
        )

    __hash__ = None  # type: ignore[assignment]


def _run_bars(strategy: Strategy, bars: Iterable[BarInput], config: BacktestConfig) -> Run:
    """Every bar through `on_bar`: user strategies, and the reference the fast path is tested against."""
    ledger = Ledger(cash=config.cash)
    filler = _Filler(config)
    at_close = config.fill_at == "close"
    state = strategy.initial_state()
    on_bar = strategy.on_bar
    timestamps: list[datetime] = []
    equity: list[Decimal] = []
    equity_f: list[float] = []
    add_ts, add_equity, add_equity_f = timestamps.append, equity.append, equity_f.append
    pending: tuple[Decimal, str] | None = None
    cash, position = ledger.cash, ZERO  # mirrors of the ledger's, refreshed after each fill
    cash_f = float(cash)
    exposed = signals = 0
    last_ts = datetime.min.replace(tzinfo=UTC)
    bar: BarInput | None = None
    for i, bar in enumerate(bars):
        ts = bar.ts
        if ts <= last_ts:
            raise ValueError(f"bars out of order: {ts.isoformat()} after {last_ts.isoformat()}")
        last_ts = ts
        if pending is not None:
            filler.execute(ledger, ts, i, pending[0], bar.open, pending[1])
            pending = None
            cash, position = ledger.cash, ledger.position
            cash_f = float(cash)
        target = on_bar(state, bar)
        if target is not None:
            signals += 1
            close = bar.close
            qty = filler.size(target.direction, close, cash, position)
            if qty and at_close:
                filler.execute(ledger, ts, i, qty, close, target.reason)
                cash, position = ledger.cash, ledger.position
                cash_f = float(cash)
            elif qty:
                pending = (qty, target.reason)
        add_ts(ts)
        if position:
            exposed += 1
            marked = cash + position * bar.close
            add_equity(marked)
            add_equity_f(float(marked))
        else:
            add_equity(cash)
            add_equity_f(cash_f)
    return Run(
        config,
        timestamps,
        equity,
        equity_f,
        exposed,
        ledger,
        signals,
        pending[0] if pending else ZERO,
        bar.close if bar is not None else None,
    )
