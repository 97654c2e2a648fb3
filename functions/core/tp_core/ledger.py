"""Balances from the book: cash is the ledger's sum; open buy orders reserve part of it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import Connection
from tradeplane.problems import not_found

_BALANCES = """
select a.id, a.owner_id, a.status, a.currency, a.account_number, a.created_at,
       coalesce((select sum(amount) from trading.cash_ledger c where c.account_id = a.id), 0) as cash,
       coalesce((select sum(amount) from trading.reservations r
                 where r.account_id = a.id and r.released_at is null), 0) as reserved
from core.accounts a where a.id = %s
"""


@dataclass(frozen=True)
class Balances:
    account: dict[str, Any]
    cash: Decimal
    reserved: Decimal

    @property
    def buying_power(self) -> Decimal:
        """Cash minus what open buy orders reserve (a cash account: no margin)."""
        return self.cash - self.reserved


def balances(conn: Connection[Any], account_id: uuid.UUID, *, lock: bool = False) -> Balances:
    """The account's cash and reservations; `lock` serialises writers on the account row first."""
    if lock:
        conn.execute("select 1 from core.accounts where id = %s for update", (account_id,))
    row = conn.execute(_BALANCES, (account_id,)).fetchone()
    if row is None:
        raise not_found("no such account")
    return Balances(row, Decimal(row.pop("cash")), Decimal(row.pop("reserved")))
