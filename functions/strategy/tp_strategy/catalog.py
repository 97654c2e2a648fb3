"""Strategies bound to an account and symbols: list, get, delete, enable, disable (create and update,
which check parameters against the strategy registry, are `tp_strategy.authoring`).

Every change bumps `version`. Delete is soft: the strategy stops, frees its name, and its signals,
orders and P&L stay readable by id.
"""

from __future__ import annotations

import uuid
from typing import Any

from tradeplane.auth import Principal
from tradeplane.db import DbConnection, transaction

from tp_strategy.access import READ, WRITE, account_for_write, owned_row, visible_accounts
from tp_strategy.api.models import StrategyView

__all__ = ["COLUMNS", "delete_strategy", "get_strategy", "list_strategies", "set_enabled", "strategy_row", "view"]

COLUMNS = (
    "id, account_id, name, type, params, symbols, timeframe, sizing, allow_short, enabled, version, "
    "created_at, updated_at"
)


def view(row: dict[str, Any]) -> StrategyView:
    return StrategyView.model_validate({**row, "symbols": list(row["symbols"])})


def strategy_row(
    conn: DbConnection, caller: Principal, strategy_id: uuid.UUID, scope: str, *, deleted: bool = False
) -> dict[str, Any]:
    """The caller's strategy (404 for another account's, and for a deleted one unless `deleted`)."""
    live = "" if deleted else " and deleted_at is null"
    return owned_row(conn, caller, scope, "strategy", f"{COLUMNS} from strategy.strategies", strategy_id, live)


def get_strategy(caller: Principal, strategy_id: uuid.UUID) -> StrategyView:
    with transaction() as conn:
        return view(strategy_row(conn, caller, strategy_id, READ))


def list_strategies(
    caller: Principal, account_id: uuid.UUID | None, enabled: bool | None, symbol: str | None
) -> list[StrategyView]:
    with transaction() as conn:
        accounts = visible_accounts(conn, caller, READ)
        if account_id is not None:
            accounts = [a for a in accounts if a == account_id]
        rows = conn.execute(
            f"""select {COLUMNS} from strategy.strategies
                where account_id = any(%s) and deleted_at is null
                  and (%s::boolean is null or enabled = %s) and (%s::text is null or %s = any(symbols))
                order by created_at, id limit 1000""",
            (accounts, enabled, enabled, symbol, symbol),
        ).fetchall()
    return [view(row) for row in rows]


def set_enabled(caller: Principal, strategy_id: uuid.UUID, enabled: bool) -> StrategyView:
    """Enable or disable (a repeat changes nothing, not even the version)."""
    with transaction() as conn:
        current = strategy_row(conn, caller, strategy_id, WRITE)
        if enabled:
            account_for_write(conn, caller, current["account_id"])  # no trading on a closed account
        row = conn.execute(
            f"""update strategy.strategies
                set enabled = %s, version = version + 1, updated_at = now()
                where id = %s and enabled <> %s and deleted_at is null returning {COLUMNS}""",
            (enabled, strategy_id, enabled),
        ).fetchone()
    return view(row if row is not None else current)


def delete_strategy(caller: Principal, strategy_id: uuid.UUID) -> None:
    """Soft delete; deleting a deleted strategy of the caller's is a no-op (a retried DELETE)."""
    with transaction() as conn:
        strategy_row(conn, caller, strategy_id, WRITE, deleted=True)
        conn.execute(
            """update strategy.strategies
               set deleted_at = now(), enabled = false, version = version + 1, updated_at = now()
               where id = %s and deleted_at is null""",
            (strategy_id,),
        )
