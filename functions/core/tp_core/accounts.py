"""Accounts on /v1: paper accounts, cash movements, risk settings, IP allowlists, the kill switch.

Every query is scoped to the caller's own accounts, so another user's account is
404 exactly like one that does not exist.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from psycopg import Connection
from tradeplane import db
from tradeplane.auth import Principal
from tradeplane.problems import conflict, not_found, unprocessable

from tp_core.access import user_id
from tp_core.ledger import balances
from tp_core.models import AccountCreate, Allowlist, CashMovement, KillSwitch, RiskSettings

_ACCOUNT = "select id, account_number, currency, status, created_at, closed_at from core.accounts"
_RISK_FIELDS = tuple(RiskSettings.model_fields)


def _owned(conn: Connection[Any], owner: uuid.UUID, account_id: uuid.UUID, *, lock: bool = False) -> dict[str, Any]:
    row = conn.execute(
        f"{_ACCOUNT} where id = %s and owner_id = %s" + (" for update" if lock else ""), (account_id, owner)
    ).fetchone()
    if row is None:
        raise not_found("no such account")
    return dict(row)


def _view(conn: Connection[Any], account: dict[str, Any]) -> dict[str, Any]:
    b = balances(conn, account["id"])
    return {**account, "cash": b.cash, "buying_power": b.buying_power}


def _previous(conn: Connection[Any], owner: uuid.UUID, key: str, request: AccountCreate) -> dict[str, Any]:
    """The account an earlier request with this Idempotency-Key created (422 if it asked for something else)."""
    row = conn.execute(
        f"""{_ACCOUNT} a where owner_id = %s and creation_key = %s and currency = %s
            and coalesce((select amount from trading.cash_ledger where account_id = a.id
                          and idempotency_key = 'opening'), 0) = %s""",
        (owner, key, request.currency, request.starting_cash),
    ).fetchone()
    if row is None:
        raise unprocessable("this Idempotency-Key was used to create a different account")
    return dict(row)


def create_account(caller: Principal, request: AccountCreate, idempotency_key: str | None = None) -> dict[str, Any]:
    """A new paper account; a retry with the same Idempotency-Key returns the account it created."""
    owner = user_id(caller, "accounts:write")
    account_id = uuid.uuid4()
    number = "PA" + "".join(secrets.choice("0123456789") for _ in range(10))
    with db.transaction() as conn:
        created = conn.execute(
            "insert into core.accounts (id, owner_id, account_number, currency, creation_key)"
            " values (%s, %s, %s, %s, %s) on conflict (owner_id, creation_key) do nothing returning id",
            (account_id, owner, number, request.currency, idempotency_key),
        ).fetchone()
        if created is None and idempotency_key is not None:
            return _view(conn, _previous(conn, owner, idempotency_key, request))
        conn.execute("insert into core.risk_settings (account_id) values (%s)", (account_id,))
        if request.starting_cash > 0:
            conn.execute(
                "insert into trading.cash_ledger (id, account_id, entry_type, amount, idempotency_key, description)"
                " values (%s, %s, 'deposit', %s, 'opening', 'starting cash')",
                (uuid.uuid4(), account_id, request.starting_cash),
            )
        return _view(conn, _owned(conn, owner, account_id))


def list_accounts(caller: Principal) -> list[dict[str, Any]]:
    owner = user_id(caller, "accounts:read")
    with db.transaction() as conn:
        rows = conn.execute(f"{_ACCOUNT} where owner_id = %s order by created_at", (owner,)).fetchall()
        return [_view(conn, dict(r)) for r in rows]


def get_account(caller: Principal, account_id: uuid.UUID) -> dict[str, Any]:
    owner = user_id(caller, "accounts:read")
    with db.transaction() as conn:
        return _view(conn, _owned(conn, owner, account_id))


def close_account(caller: Principal, account_id: uuid.UUID) -> dict[str, Any]:
    """Close an account with no open orders and no positions (its API keys stop working)."""
    owner = user_id(caller, "accounts:write")
    with db.transaction() as conn:
        account = _owned(conn, owner, account_id, lock=True)
        busy = conn.execute(
            """select exists (select 1 from trading.reservations where account_id = %(a)s and released_at is null)
                   or exists (select 1 from trading.positions where account_id = %(a)s and qty <> 0) as busy""",
            {"a": account_id},
        ).fetchone()
        if busy and busy["busy"]:
            raise conflict("the account has open orders or positions; cancel and close them first")
        conn.execute(
            "update core.accounts set status = 'CLOSED', closed_at = coalesce(closed_at, now()) where id = %s",
            (account_id,),
        )
        return _view(conn, _owned(conn, owner, account["id"]))


def _same_movement(row: dict[str, Any], request: CashMovement, amount: Any) -> bool:
    return bool(row["entry_type"] == request.type and row["amount"] == amount)


@db.retry_lock_conflicts
def move_cash(caller: Principal, account_id: uuid.UUID, request: CashMovement) -> dict[str, Any]:
    """Deposit or withdraw once per idempotency key; a withdrawal may not exceed buying power."""
    owner = user_id(caller, "accounts:write")
    amount = request.amount if request.type == "deposit" else -request.amount
    with db.transaction() as conn:
        account = _owned(conn, owner, account_id, lock=True)
        previous = conn.execute(
            "select id, entry_type, amount, description, occurred_at from trading.cash_ledger"
            " where account_id = %s and idempotency_key = %s",
            (account_id, request.idempotency_key),
        ).fetchone()
        if previous is not None:
            if not _same_movement(previous, request, amount):
                raise unprocessable("this idempotency key was used for a different movement")
            return dict(previous)
        if account["status"] != "ACTIVE":
            raise unprocessable("the account is closed")
        if amount < 0 and balances(conn, account_id).buying_power + amount < 0:
            raise unprocessable("insufficient buying power for this withdrawal")
        row = conn.execute(
            """insert into trading.cash_ledger (id, account_id, entry_type, amount, idempotency_key, description)
               values (%s, %s, %s, %s, %s, %s) returning id, entry_type, amount, description, occurred_at""",
            (uuid.uuid4(), account_id, request.type, amount, request.idempotency_key, request.description),
        ).fetchone()
    assert row is not None
    return dict(row)


def get_risk_settings(caller: Principal, account_id: uuid.UUID) -> dict[str, Any]:
    owner = user_id(caller, "accounts:read")
    with db.transaction() as conn:
        _owned(conn, owner, account_id)
        row = conn.execute(
            f"select trading_blocked, {', '.join(_RISK_FIELDS)} from core.risk_settings where account_id = %s",
            (account_id,),
        ).fetchone()
    assert row is not None
    return dict(row)


def put_risk_settings(caller: Principal, account_id: uuid.UUID, request: RiskSettings) -> dict[str, Any]:
    owner = user_id(caller, "accounts:write")
    values = request.model_dump()
    with db.transaction() as conn:
        _owned(conn, owner, account_id, lock=True)
        conn.execute(
            f"update core.risk_settings set {', '.join(f'{f} = %({f})s' for f in _RISK_FIELDS)}, updated_at = now()"
            " where account_id = %(account_id)s",
            {**values, "account_id": account_id},
        )
    return get_risk_settings(caller, account_id)


def set_kill_switch(caller: Principal, account_id: uuid.UUID, request: KillSwitch) -> dict[str, Any]:
    owner = user_id(caller, "accounts:write")
    with db.transaction() as conn:
        _owned(conn, owner, account_id, lock=True)
        conn.execute(
            "update core.risk_settings set trading_blocked = %s, updated_at = now() where account_id = %s",
            (request.trading_blocked, account_id),
        )
    return {"account_id": account_id, "trading_blocked": request.trading_blocked}


def get_allowlist(caller: Principal, account_id: uuid.UUID) -> dict[str, Any]:
    owner = user_id(caller, "accounts:read")
    with db.transaction() as conn:
        _owned(conn, owner, account_id)
        rows = conn.execute(
            "select cidr::text as cidr from core.ip_allowlist where account_id = %s order by cidr", (account_id,)
        ).fetchall()
    return {"account_id": account_id, "cidrs": [r["cidr"] for r in rows]}


def put_allowlist(caller: Principal, account_id: uuid.UUID, request: Allowlist) -> dict[str, Any]:
    """Replace the allowlist (empty: any address). The authorizer sees it within its lookup TTL."""
    owner = user_id(caller, "accounts:write")
    with db.transaction() as conn:
        _owned(conn, owner, account_id, lock=True)
        conn.execute("delete from core.ip_allowlist where account_id = %s", (account_id,))
        for cidr in {str(c) for c in request.cidrs}:
            conn.execute("insert into core.ip_allowlist (account_id, cidr) values (%s, %s)", (account_id, cidr))
    return get_allowlist(caller, account_id)
