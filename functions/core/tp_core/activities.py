"""Account activities on /v2 (Alpaca's shapes): fills (FILL) from trading.fills, cash movements (CSD, CSW).

Activity ids are `<UTC time to the millisecond>::<uuid>`, as Alpaca's, so they sort by
time and a page token is simply the last id of the previous page.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from tradeplane import db
from tradeplane.auth import Principal
from tradeplane.problems import unprocessable

from tp_core.access import trading_account
from tp_core.alpaca import plain

ActivityType = Literal["FILL", "CSD", "CSW"]
Day = date  # the filter has a field named `date`
_LEDGER_TYPES = {"CSD": "deposit", "CSW": "withdrawal"}

_UNION = """
select * from (
  select l.id, l.occurred_at, case l.entry_type when 'deposit' then 'CSD' else 'CSW' end as activity_type,
         l.amount, l.description, null::uuid as order_id, null as symbol, null as side, null::numeric as qty,
         null::numeric as price, null::numeric as cum_qty, null::numeric as leaves_qty, null as order_status
  from trading.cash_ledger l where l.account_id = %(a)s and l.entry_type = any(%(ledger)s)
  union all
  select f.id, f.occurred_at, 'FILL', null, '', f.order_id, f.symbol, f.side, f.qty, f.price,
         sum(f.qty) over (partition by f.order_id order by f.occurred_at, f.id), o.qty - o.filled_qty, o.status
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
        if value and any(t.strip().upper() not in ("FILL", "CSD", "CSW") for t in value.split(",")):
            raise ValueError("activity types supported: FILL, CSD, CSW")
        return value

    def types(self, path_type: str | None) -> set[str]:
        if path_type:
            return {path_type.upper()}
        return (
            {t.strip().upper() for t in self.activity_types.split(",")}
            if self.activity_types
            else {"FILL", "CSD", "CSW"}
        )


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
        return {
            **base,
            "date": r["occurred_at"].date().isoformat(),
            "net_amount": plain(r["amount"]),
            "description": r["description"],
            "status": "executed",
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
    if not types <= {"FILL", "CSD", "CSW"}:
        raise unprocessable("activity types supported: FILL, CSD, CSW")
    where, params = _where(f)
    direction = "asc" if f.direction == "asc" else "desc"
    ledger = [v for k, v in _LEDGER_TYPES.items() if k in types]
    sql = _UNION.format(where=where, direction=direction).replace("%(fills)s", "true" if "FILL" in types else "false")
    with db.transaction(read_only=True) as conn:
        rows = conn.execute(sql, {**params, "a": account_id, "ledger": ledger, "limit": f.page_size}).fetchall()
    return [_view(account_id, dict(r)) for r in rows]
