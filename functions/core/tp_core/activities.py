"""Account activities on /v2 (Alpaca's shapes): what the book records, fills (FILL) from trading.fills and
cash movements from trading.cash_ledger: deposits (CSD), withdrawals (CSW) and fees (FEE).

Activity ids are `<UTC time to the millisecond>::<uuid>`, as Alpaca's, so they sort by
time and a page token is simply the last id of the previous page. Rows are ordered and
paged by exactly that pair (time truncated to the millisecond, then id), so a page token
never skips or repeats a row that shares its millisecond.

Alpaca lists more types (dividends, journals, ...) than the book produces: asking for one of
those is valid and finds nothing; a type Alpaca does not list is 422.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from tradeplane import db
from tradeplane.auth import Principal
from tradeplane.contracts.alpaca_orders import plain
from tradeplane.problems import unprocessable

from tp_core.access import trading_account

Day = date  # the filter has a field named `date`
# Alpaca's activity type -> the cash ledger's entry type it comes from (FILL comes from trading.fills).
_LEDGER_TYPES = {"CSD": "deposit", "CSW": "withdrawal", "FEE": "fee"}
RECORDED = frozenset({"FILL", *_LEDGER_TYPES})
# Every activity type Alpaca lists (alpaca-py 0.44's ActivityType); those the book never records answer [].
ALPACA_TYPES = RECORDED | frozenset(
    [
        "ACATC",
        "ACATS",
        "CFEE",
        "CIL",
        "DIV",
        "DIVCGL",
        "DIVCGS",
        "DIVNRA",
        "DIVROC",
        "DIVTXEX",
        "DIVWH",
        "EXTRD",
        "FXTRD",
        "INT",
        "INTPNL",
        "JNLC",
        "JNLS",
        "MA",
        "MEM",
        "NC",
        "OCT",
        "OPASN",
        "OPCSH",
        "OPEXC",
        "OPEXP",
        "OPTRD",
        "PTC",
        "REORG",
        "SPIN",
        "SPLIT",
        "SWP",
        "VOF",
        "WH",
    ]
)
_UNSUPPORTED = "activity_types must be Alpaca activity types (FILL, CSD, CSW, FEE, DIV, JNLC, ...)"

_UNION = """
select * from (
  select l.id, date_trunc('milliseconds', l.occurred_at) as occurred_at,
         case l.entry_type when 'deposit' then 'CSD' when 'withdrawal' then 'CSW' else 'FEE' end as activity_type,
         l.amount, l.description, l.order_id, o.symbol, null as side, null::numeric as qty,
         null::numeric as price, null::numeric as cum_qty, null::numeric as leaves_qty, null as order_status
  from trading.cash_ledger l left join trading.orders o on o.id = l.order_id
  where l.account_id = %(a)s and l.entry_type = any(%(ledger)s)
  union all
  select f.id, date_trunc('milliseconds', f.occurred_at), 'FILL', null, '', f.order_id, f.symbol, f.side, f.qty,
         f.price, sum(f.qty) over (partition by f.order_id order by f.occurred_at, f.id), o.qty - o.filled_qty,
         o.status
  from trading.fills f join trading.orders o on o.id = f.order_id
  where f.account_id = %(a)s and %(fills)s
) a where {where}
order by occurred_at {direction}, id {direction} limit %(limit)s
"""


class ActivityFilter(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    activity_types: Annotated[str, Field(max_length=200)] | None = None
    date: Day | None = None
    after: datetime | None = None
    until: datetime | None = None
    direction: Literal["asc", "desc"] = "desc"
    page_size: Annotated[int, Field(ge=1, le=100)] = 100
    page_token: Annotated[str, Field(max_length=80)] | None = None

    @field_validator("activity_types")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value and not _parse(value) <= ALPACA_TYPES:
            raise ValueError(_UNSUPPORTED)
        return value

    def types(self, path_type: str | None) -> set[str]:
        if path_type:
            return {path_type.upper()}
        return _parse(self.activity_types) if self.activity_types else set(RECORDED)


def _parse(value: str) -> set[str]:
    return {t.strip().upper() for t in value.split(",") if t.strip()}


def activity_id(occurred_at: datetime, row_id: uuid.UUID) -> str:
    return f"{occurred_at.astimezone(UTC).strftime('%Y%m%d%H%M%S%f')[:-3]}::{row_id}"


def _token(token: str) -> tuple[datetime, uuid.UUID]:
    try:
        stamp, row_id = token.split("::")
        return datetime.strptime(stamp + "000", "%Y%m%d%H%M%S%f").replace(tzinfo=UTC), uuid.UUID(row_id)
    except ValueError:
        raise unprocessable("page_token is not an activity id") from None


def _where(f: ActivityFilter) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = ["true"]
    params: dict[str, Any] = {}
    after, until = f.after, f.until
    if f.date is not None:
        start = datetime(f.date.year, f.date.month, f.date.day, tzinfo=UTC)
        after, until = start, start + timedelta(days=1)
    if after is not None:
        clauses.append("occurred_at >= %(after)s")
        params["after"] = after
    if until is not None:
        clauses.append("occurred_at < %(until)s")
        params["until"] = until
    if f.page_token:
        ts, row_id = _token(f.page_token)
        clauses.append(f"(occurred_at, id) {'>' if f.direction == 'asc' else '<'} (%(pt)s, %(pid)s)")
        params["pt"], params["pid"] = ts, row_id
    return " and ".join(clauses), params


def _view(account_id: uuid.UUID, r: dict[str, Any]) -> dict[str, Any]:
    base = {
        "id": activity_id(r["occurred_at"], r["id"]),
        "account_id": str(account_id),
        "activity_type": r["activity_type"],
    }
    if r["activity_type"] != "FILL":
        extra = {"symbol": r["symbol"], "order_id": str(r["order_id"])} if r["order_id"] else {}
        return {
            **base,
            "date": r["occurred_at"].date().isoformat(),
            "net_amount": plain(r["amount"]),
            "description": r["description"],
            "status": "executed",
            **extra,
        }
    leaves = Decimal(r["leaves_qty"] or 0)
    return {
        **base,
        "transaction_time": r["occurred_at"],
        "type": "partial_fill" if leaves > 0 else "fill",
        "price": plain(r["price"]),
        "qty": plain(r["qty"]),
        "side": r["side"],
        "symbol": r["symbol"],
        "leaves_qty": plain(leaves),
        "order_id": str(r["order_id"]),
        "cum_qty": plain(r["cum_qty"]),
        "order_status": r["order_status"],
    }


def list_activities(caller: Principal, f: ActivityFilter, path_type: str | None = None) -> list[dict[str, Any]]:
    account_id = trading_account(caller, "trading:read")
    types = f.types(path_type)
    if not types <= ALPACA_TYPES:
        raise unprocessable(_UNSUPPORTED)
    if not types & RECORDED:
        return []  # an Alpaca type the book never records (DIV, JNLC, ...): nothing to find
    where, params = _where(f)
    direction = "asc" if f.direction == "asc" else "desc"
    ledger = [v for k, v in _LEDGER_TYPES.items() if k in types]
    sql = _UNION.format(where=where, direction=direction).replace("%(fills)s", "true" if "FILL" in types else "false")
    with db.transaction(read_only=True) as conn:
        rows = conn.execute(sql, {**params, "a": account_id, "ledger": ledger, "limit": f.page_size}).fetchall()
    return [_view(account_id, dict(r)) for r in rows]
