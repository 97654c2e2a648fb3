"""Jobs (backtests, sweeps) stored once per client `Idempotency-Key`: a retried POST finds the first one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradeplane.db import DbConnection

__all__ = ["insert_once"]


def insert_once(conn: DbConnection, table: str, columns: str, values: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Insert the job, unless its account already used its `idempotency_key`: (the row, replayed).

    The caller compares a replayed row's request with its own (another request under the same key is a 422).
    """
    names = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    row = conn.execute(
        f"""insert into {table} ({names}) values ({marks})
            on conflict (account_id, idempotency_key) where idempotency_key is not null do nothing
            returning {columns}""",
        list(values.values()),
    ).fetchone()
    if row is not None:
        return dict(row), False
    earlier = conn.execute(
        f"select {columns} from {table} where account_id = %s and idempotency_key = %s",
        (values["account_id"], values["idempotency_key"]),
    ).fetchone()
    assert earlier is not None  # the conflict was on this key, and jobs are never deleted
    return dict(earlier), True
