"""Balances from the book: cash is the ledger's sum; open buy orders reserve part of it.

Both sums are kept current in `trading.balances` by triggers on the ledger and the
reservations (migration 0020), so reading them costs one row, not the account's history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import Connection
from tradeplane.problems import not_found

_BALANCES = """
select a.id, a.owner_id, a.status, a.currency, a.account_number, a.created_at,
       coalesce(b.cash, 0) as cash, coalesce(b.reserved, 0) as reserved
from core.accounts a left join trading.balances b on b.account_id = a.id where a.id = %s
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
