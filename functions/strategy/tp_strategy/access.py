"""Which accounts a caller may act on through the strategy API.

An API key (or an account-bound token) acts on its one account; a signed-in user on the accounts they
own. Another account's strategy, backtest or sweep is answered 404, never 403: its existence is not
the caller's business. Reads need `trading:read`, writes `trading:write` (the scopes Core's trading
routes use), since a strategy submits orders on the account.
"""

from __future__ import annotations

import uuid
from typing import Any

from tradeplane.auth import Principal
from tradeplane.db import DbConnection
from tradeplane.problems import Problem, forbidden, not_found

__all__ = ["READ", "WRITE", "account_for_write", "owned_row", "visible_accounts"]

READ, WRITE = "trading:read", "trading:write"


def _no_account() -> Problem:
    return forbidden("this credential acts on no account: pass account_id or use an API key")


def visible_accounts(conn: DbConnection, caller: Principal, scope: str) -> list[uuid.UUID]:
    """The accounts whose strategies the caller may see (the bound account, else the user's own)."""
    caller.require(scope)
    if caller.account_id is not None:
        return [uuid.UUID(caller.account_id)]
    if caller.kind != "user":
        raise _no_account()
    try:
        owner = uuid.UUID(caller.subject)
    except ValueError:
        raise _no_account() from None
    rows = conn.execute("select id from core.accounts where owner_id = %s", (owner,)).fetchall()
    return [row["id"] for row in rows]


def account_for_write(conn: DbConnection, caller: Principal, requested: uuid.UUID | None) -> uuid.UUID:
    """The open account a write acts on: the bound account, or the user's account named in the request."""
    accounts = visible_accounts(conn, caller, WRITE)
    if requested is None:
        if caller.account_id is None:
            raise _no_account()
        requested = accounts[0]
    if requested not in accounts:
        raise not_found(f"account {requested} not found")
    row = conn.execute("select status from core.accounts where id = %s", (requested,)).fetchone()
    if row is None or row["status"] != "ACTIVE":
        raise forbidden(f"account {requested} is closed")
    return requested


def owned_row(
    conn: DbConnection, caller: Principal, scope: str, what: str, select: str, row_id: uuid.UUID, live: str = ""
) -> dict[str, Any]:
    """`select` ("<columns> from <table>") of the caller's row `row_id`: 404 for another account's."""
    accounts = visible_accounts(conn, caller, scope)
    row = conn.execute(f"select {select} where id = %s and account_id = any(%s){live}", (row_id, accounts)).fetchone()
    if row is None:
        raise not_found(f"{what} {row_id} not found")
    return dict(row)
