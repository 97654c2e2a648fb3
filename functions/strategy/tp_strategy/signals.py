"""Signals: stored once per (strategy, symbol, bar) in `strategy.signals`, published to `signals`.

A signal row is also the runner's record of the order it leads to. Its life:

    raised ──(sized to 0)──> skipped
       │
       └─(order planned: qty, side, client_order_id written)──> submitted | failed

The order is planned (written) *before* it is sent, so a redelivered bar re-sends exactly the
order it planned, with the same client_order_id, instead of sizing again against a position
the first attempt may already have changed. The Core API answers a repeated identical order
with the order it created, so re-sending is safe.

Publishing is an idempotent produce, not an outbox: the event id is the signal's id (derived
from strategy, symbol and bar), and the runner publishes it every time it handles the bar,
before it advances the strategy's state. A crash after the insert and before Kafka's ack
leaves the state behind, so the redelivered bar raises the same signal, finds the row and
publishes the same event again; consumers drop the copies by envelope id.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from psycopg import Connection
from tradeplane.envelope import Envelope

from tp_strategy.interface import Target

SIGNAL_EVENT = "strategy.signal"
FINAL = frozenset({"submitted", "skipped", "failed"})
_NAMESPACE = uuid.UUID("6f6b3f5e-3c0a-4a53-9d2e-5b1e0c7d2a10")  # signal ids: uuid5 in this namespace

Side = Literal["buy", "sell"]


def signal_id(strategy_id: uuid.UUID, symbol: str, bar_ts: datetime) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{strategy_id}|{symbol}|{bar_ts.isoformat()}")


def client_order_id(strategy_id: uuid.UUID, symbol: str, bar_ts: datetime) -> str:
    """`st-<24 hex>-<YYYYmmddHHMM>` (40 chars, within Alpaca's 48): one per strategy, symbol and bar.

    The hash covers strategy, symbol and the exact bar start, so no two signals share it; the
    bar time stays readable for whoever looks at the order.
    """
    digest = hashlib.sha256(f"{strategy_id}|{symbol}|{bar_ts.isoformat()}".encode()).hexdigest()[:24]
    return f"st-{digest}-{bar_ts:%Y%m%d%H%M}"


def placed_by(strategy_id: uuid.UUID, symbol: str, order_id: str | None) -> bool:
    """Whether `order_id` is a client_order_id this strategy derived for `symbol` (its suffix names the bar)."""
    if not order_id or not order_id.startswith("st-") or len(order_id) < 12:
        return False
    try:
        bar_ts = datetime.strptime(order_id[-12:], "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return False
    return client_order_id(strategy_id, symbol, bar_ts) == order_id


@dataclass(frozen=True)
class Signal:
    id: uuid.UUID
    strategy_id: uuid.UUID
    symbol: str
    bar_ts: datetime
    direction: int
    reason: str
    status: str
    client_order_id: str | None = None
    order_qty: Decimal | None = None
    order_side: Side | None = None
    detail: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def planned(self) -> bool:
        return self.order_qty is not None


_COLUMNS = "id, strategy_id, symbol, bar_ts, direction, reason, status, client_order_id, order_qty, order_side, detail"


def _signal(row: Mapping[str, Any]) -> Signal:
    return Signal(**{k: row[k] for k in _COLUMNS.split(", ")})


def record_many(conn: Connection[Any], raised: Sequence[tuple[uuid.UUID, str, datetime, Target]]) -> list[Signal]:
    """Store a batch's signals in two statements: new rows inserted, every row (new, or stored by an earlier
    delivery of the same bar: unchanged) read back, in the order given."""
    if not raised:
        return []
    ids = [signal_id(sid, symbol, ts) for sid, symbol, ts, _ in raised]
    conn.execute(
        """insert into strategy.signals (id, strategy_id, symbol, bar_ts, direction, reason)
           select * from unnest(%s::uuid[], %s::uuid[], %s::text[], %s::timestamptz[], %s::smallint[], %s::text[])
           on conflict do nothing""",
        (
            ids,
            [r[0] for r in raised],
            [r[1] for r in raised],
            [r[2] for r in raised],
            [r[3].direction for r in raised],
            [r[3].reason[:500] for r in raised],
        ),
    )
    rows = conn.execute(f"select {_COLUMNS} from strategy.signals where id = any(%s)", (ids,)).fetchall()
    found = {row["id"]: _signal(row) for row in rows}
    return [found[i] for i in ids]


def last_direction(conn: Connection[Any], strategy_id: uuid.UUID, symbol: str, before: datetime) -> int | None:
    """The direction of the strategy's last signal on `symbol` before `before` (None: it never raised one)."""
    row = conn.execute(
        "select direction from strategy.signals where strategy_id = %s and symbol = %s and bar_ts < %s"
        " order by bar_ts desc limit 1",
        (strategy_id, symbol, before),
    ).fetchone()
    return None if row is None else int(row["direction"])


def plan(conn: Connection[Any], signal: Signal, qty: Decimal, side: Side, order_id: str) -> Signal:
    """Write the order the signal will send; a signal planned already keeps its first plan."""
    row = conn.execute(
        f"""update strategy.signals set order_qty = coalesce(order_qty, %s), order_side = coalesce(order_side, %s),
                  client_order_id = coalesce(client_order_id, %s)
             where id = %s returning {_COLUMNS}""",
        (qty, side, order_id, signal.id),
    ).fetchone()
    assert row is not None
    return _signal(row)


def finish(conn: Connection[Any], signal: Signal, status: str, detail: str | None = None) -> Signal:
    """Mark the signal submitted, skipped or failed (with why); a final status is never changed again."""
    if status not in FINAL:
        raise ValueError(f"{status!r} is not a final signal status")
    row = conn.execute(
        f"""update strategy.signals set status = case when status = 'raised' then %s else status end,
                  detail = case when status = 'raised' then %s else detail end
             where id = %s returning {_COLUMNS}""",
        (status, detail[:500] if detail else None, signal.id),
    ).fetchone()
    assert row is not None
    return _signal(row)


@dataclass(frozen=True)
class Change:
    """What one signal's step decided: a plan to write (qty, side, order id) or a final status (with why)."""

    signal: Signal
    status: str | None = None
    detail: str | None = None
    qty: Decimal | None = None
    side: Side | None = None
    order_id: str | None = None


def apply(conn: Connection[Any], changes: Sequence[Change]) -> list[Signal]:
    """Write a round's plans and final statuses (`plan`, `finish`) in one transaction; the rows as written."""
    out = []
    for change in changes:
        if change.status is not None:
            out.append(finish(conn, change.signal, change.status, change.detail))
        else:
            assert change.qty is not None and change.side is not None and change.order_id is not None
            out.append(plan(conn, change.signal, change.qty, change.side, change.order_id))
    return out


def signal_envelope(signal: Signal, account_id: uuid.UUID, *, producer: str, correlation_id: str | None) -> Envelope:
    """The `strategy.signal` event, keyed by strategy id; its id is the signal's, so a re-publish is a copy."""
    data = {
        "signal_id": signal.id,
        "strategy_id": signal.strategy_id,
        "account_id": account_id,
        "symbol": signal.symbol,
        "bar_ts": signal.bar_ts,
        "direction": signal.direction,
        "reason": signal.reason,
    }
    return Envelope.new(
        SIGNAL_EVENT,
        data,
        producer=producer,
        correlation_id=correlation_id,
        id=str(signal.id),
        occurred_at=signal.bar_ts,
    )
