"""Orders on /v2: submit (risk-checked, reserved and staged for Kafka in one transaction), read, cancel, replace.

Every write locks the account row first (`lock_account`) and reads the book in a
later statement, so the submits of one account are serialised and parallel orders
can never spend the same buying power twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from psycopg import Connection
from tradeplane import db, outbox
from tradeplane.auth import Principal
from tradeplane.contracts import topics
from tradeplane.contracts.alpaca_orders import order_view
from tradeplane.contracts.orders import ORDER_SUBMITTED, OrderLeg, OrderSubmitted
from tradeplane.envelope import Envelope
from tradeplane.observability import correlation_id
from tradeplane.problems import Problem

from tp_core import risk
from tp_core.access import trading_account
from tp_core.order_models import OrderRequest

OPEN_STATUSES = ("new", "accepted", "pending_new", "partially_filled", "held", "pending_cancel", "pending_replace")
PriceSource = Callable[[str], Decimal | None]

COLUMNS = (
    "id, account_id, client_order_id, parent_id, leg_role, symbol, asset_class, side, type, time_in_force, order_class,"
    " qty, notional, limit_price, stop_price, trail_price, trail_percent, hwm, extended_hours, position_intent, status,"
    " filled_qty, filled_avg_price, request_hash, replaces, replaced_by, created_at, updated_at, submitted_at,"
    " filled_at, canceled_at, expired_at, failed_at, replaced_at"
)


def alpaca_problem(status: int, code: int, message: str, **extensions: Any) -> Problem:
    return Problem(status, detail=message, code=code, message=message, **extensions)


def order_not_found() -> Problem:
    return alpaca_problem(404, 40410000, "order not found")


@dataclass
class Submission:
    """What a submit answers: the order (and whether it was a repeat of an earlier request)."""

    order: dict[str, Any]
    repeated: bool = False
    staged: list[outbox.Staged] = field(default_factory=list)


def find_order(
    conn: Connection[Any], account_id: uuid.UUID, where: str, value: Any, lock: bool = False
) -> dict[str, Any] | None:
    row = conn.execute(
        f"select {COLUMNS} from trading.orders where account_id = %s and {where} = %s"
        + (" for update" if lock else ""),
        (account_id, value),
    ).fetchone()
    return dict(row) if row else None


def legs_of(conn: Connection[Any], parent_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    if not parent_ids:
        return {}
    rows = conn.execute(
        f"select {COLUMNS} from trading.orders where parent_id = any(%s) order by leg_role desc", (list(parent_ids),)
    ).fetchall()
    out: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["parent_id"], []).append(dict(r))
    return out


def view_with_legs(conn: Connection[Any], row: dict[str, Any]) -> dict[str, Any]:
    return order_view(row, legs_of(conn, [row["id"]]).get(row["id"]))


_FACTS = """
select a.status,
       coalesce((select cash - reserved from trading.balances where account_id = a.id), 0) as buying_power,
       (select id from trading.orders where account_id = a.id and client_order_id = %(c)s) as existing,
       (select row_to_json(s) from core.risk_settings s where s.account_id = a.id) as settings,
       coalesce((select qty from trading.positions where account_id = a.id and symbol = %(s)s), 0) as position,
       coalesce((select sum(qty - filled_qty) from trading.orders where account_id = a.id and symbol = %(s)s
                 and side = 'sell' and parent_id is null and qty is not null and status = any(%(open)s)), 0)
         as open_sells,
       (select count(*) from trading.orders where account_id = a.id and parent_id is null
        and created_at > now() - interval '1 minute') as recent,
       coalesce((select case when i.status = 'active' and i.tradable then 'tradable' else 'untradable' end
                 from market.instruments i where i.symbol = %(s)s), 'unknown') as asset
from core.accounts a where a.id = %(a)s
"""


@dataclass(frozen=True)
class Facts:
    """What the book says about an account, read after its row lock (a new statement: a fresh snapshot)."""

    status: str
    existing: uuid.UUID | None
    context: risk.RiskContext


def lock_account(conn: Connection[Any], account_id: uuid.UUID) -> None:
    """Serialise the account's writers; facts must be read by a later statement (READ COMMITTED snapshot)."""
    conn.execute("select 1 from core.accounts where id = %s for update", (account_id,))


def _needs_last_price(request: OrderRequest, settings: dict[str, Any]) -> bool:
    own_price = request.limit_price is not None or request.stop_price is not None
    return not own_price or settings.get("price_band_pct") is not None


def read_facts(
    conn: Connection[Any], account_id: uuid.UUID, request: OrderRequest, client_order_id: str, prices: PriceSource
) -> Facts:
    """Balances, settings, position and recent activity in one query; the last price only when a rule needs it."""
    row = conn.execute(
        _FACTS, {"a": account_id, "s": request.symbol, "c": client_order_id, "open": list(OPEN_STATUSES)}
    ).fetchone()
    if row is None:
        raise alpaca_problem(404, 40410000, "account not found")
    settings = {k: _decimal_or(v) for k, v in (row["settings"] or {}).items()}
    price = prices(request.symbol) if _needs_last_price(request, settings) else None
    context = risk.RiskContext(
        request,
        settings,
        Decimal(row["buying_power"]),
        Decimal(row["position"]),
        Decimal(row["open_sells"]),
        price,
        int(row["recent"]),
        row["asset"],
    )
    return Facts(row["status"], row["existing"], context)


def _decimal_or(value: Any) -> Any:
    """row_to_json turns numeric into JSON numbers: read them back as exact decimals."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _reject(rejection: risk.Rejection) -> Problem:
    return alpaca_problem(rejection.status, rejection.code, rejection.message, rule=rejection.rule)


_INSERT = f"""
insert into trading.orders (id, account_id, client_order_id, parent_id, leg_role, symbol, side, type, time_in_force,
    order_class, qty, notional, limit_price, stop_price, trail_price, trail_percent, extended_hours, position_intent,
    status, request_hash, replaces)
values (%(id)s, %(account_id)s, %(client_order_id)s, %(parent_id)s, %(leg_role)s, %(symbol)s, %(side)s, %(type)s,
    %(time_in_force)s, %(order_class)s, %(qty)s, %(notional)s, %(limit_price)s, %(stop_price)s, %(trail_price)s,
    %(trail_percent)s, %(extended_hours)s, %(position_intent)s, %(status)s, %(request_hash)s, %(replaces)s)
returning {COLUMNS}
"""


def _leg_specs(request: OrderRequest) -> list[dict[str, Any]]:
    """Child orders of bracket/oco/oto orders: held until their parent allows them (oco legs are live)."""
    exit_side = request.side if request.order_class == "oco" else ("sell" if request.side == "buy" else "buy")
    status = "accepted" if request.order_class == "oco" else "held"
    specs = []
    if request.take_profit and request.order_class != "oco":
        specs.append(
            {
                "leg_role": "take_profit",
                "type": "limit",
                "limit_price": request.take_profit.limit_price,
                "stop_price": None,
            }
        )
    if request.stop_loss:
        stop = request.stop_loss
        kind = "stop_limit" if stop.limit_price else "stop"
        specs.append(
            {"leg_role": "stop_loss", "type": kind, "limit_price": stop.limit_price, "stop_price": stop.stop_price}
        )
    return [{**s, "side": exit_side, "status": status} for s in specs]


def _insert_order(
    conn: Connection[Any],
    account_id: uuid.UUID,
    request: OrderRequest,
    client_order_id: str,
    replaces: uuid.UUID | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    base = request.model_dump(exclude={"take_profit", "stop_loss", "client_order_id"})
    parent_id = uuid.uuid4()
    common = {
        "account_id": account_id,
        "request_hash": request.fingerprint(),
        "replaces": None,
        "trail_price": None,
        "trail_percent": None,
    }
    row = conn.execute(
        _INSERT,
        {
            **base,
            **common,
            "id": parent_id,
            "client_order_id": client_order_id,
            "parent_id": None,
            "leg_role": None,
            "status": "accepted",
            "replaces": replaces,
            "trail_price": request.trail_price,
            "trail_percent": request.trail_percent,
        },
    ).fetchone()
    assert row is not None
    legs = []
    for spec in _leg_specs(request):
        leg_id = uuid.uuid4()
        values = {
            **base,
            **common,
            **spec,
            "id": leg_id,
            "client_order_id": str(leg_id),
            "parent_id": parent_id,
            "notional": None,
            "extended_hours": False,
            "position_intent": None,
        }
        leg = conn.execute(_INSERT, values).fetchone()
        assert leg is not None
        legs.append(dict(leg))
    return dict(row), legs


def _submitted_event(
    order: dict[str, Any], legs: list[dict[str, Any]], reserved: Decimal, replaced_status: str | None
) -> OrderSubmitted:
    fields = {k: order[k] for k in OrderSubmitted.model_fields if k in order}
    return OrderSubmitted.model_validate(
        {
            **fields,
            "order_id": order["id"],
            "reserved": reserved,
            "replaced_status": replaced_status,
            "legs": [OrderLeg.model_validate({k: leg[k] for k in OrderLeg.model_fields}) for leg in legs],
        }
    )


def accept(
    conn: Connection[Any],
    account_id: uuid.UUID,
    request: OrderRequest,
    client_order_id: str,
    ctx: risk.RiskContext,
    *,
    replaces: uuid.UUID | None = None,
    replaced_status: str | None = None,
    event_type: str = ORDER_SUBMITTED,
    producer: str = "orders_submit",
) -> Submission:
    """Insert the order, its legs, its reservation and its outbox event (the caller's transaction)."""
    rejection = risk.check(ctx)
    if rejection is not None:
        raise _reject(rejection)
    order, legs = _insert_order(conn, account_id, request, client_order_id, replaces)
    reserved = risk.reservation(ctx)
    envelope = Envelope.new(
        event_type,
        _submitted_event(order, legs, reserved, replaced_status),
        producer=producer,
        correlation_id=correlation_id(),
    )
    staged = outbox.stage(
        conn,
        topics.ORDERS_SUBMITTED,
        str(account_id),
        envelope,
        also=(
            "insert into trading.reservations (order_id, account_id, amount) values (%s, %s, %s)",
            (order["id"], account_id, reserved),
        ),
    )
    return Submission(order_view(order, legs or None), staged=[staged])


def _repeat(conn: Connection[Any], existing: dict[str, Any], request: OrderRequest) -> Submission:
    if existing["request_hash"] != request.fingerprint():
        raise alpaca_problem(422, 42210000, "client_order_id must be unique")
    return Submission(view_with_legs(conn, existing), repeated=True)


@db.retry_lock_conflicts
def submit_order(caller: Principal, request: OrderRequest, *, prices: PriceSource) -> Submission:
    """Accept an order for the caller's account, or answer the order an identical earlier request created."""
    account_id = trading_account(caller, "trading:write")
    client_order_id = request.client_order_id or str(uuid.uuid4())
    with db.connection() as conn:  # one checkout for the transaction and the outbox mark after it
        with conn.transaction():
            lock_account(conn, account_id)
            facts = read_facts(conn, account_id, request, client_order_id, prices)
            if facts.existing is not None:
                existing = find_order(conn, account_id, "id", facts.existing)
                assert existing is not None
                return _repeat(conn, existing, request)
            if facts.status != "ACTIVE":
                raise alpaca_problem(403, 40310000, "account is not active")
            submission = accept(conn, account_id, request, client_order_id, facts.context)
        outbox.publish(submission.staged, conn)
    return submission
