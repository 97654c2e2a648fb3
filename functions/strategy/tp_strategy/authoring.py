"""Creating and changing strategies: their parameters checked against their type (`param_check`, which
imports the strategy registry at init: only these routes need it).

Writes are idempotent by natural key: a strategy is named uniquely among its account's live
strategies, so a retried create with the same definition returns the stored strategy (replayed) and
the same name with another definition is a 409. Every update bumps `version`; a client that sends
`expected_version` is refused (409) when someone changed the strategy in between.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb
from tradeplane.auth import Principal
from tradeplane.db import transaction
from tradeplane.problems import conflict

from tp_strategy.access import WRITE, account_for_write
from tp_strategy.api.models import StrategyCreate, StrategyUpdate, StrategyView
from tp_strategy.catalog import COLUMNS, strategy_row, view
from tp_strategy.param_check import checked_params

__all__ = ["Created", "create_strategy", "update_strategy"]

_DEFINITION = ("type", "params", "symbols", "timeframe", "sizing", "allow_short", "enabled")


@dataclass(frozen=True)
class Created:
    strategy: StrategyView
    replayed: bool


def _name_taken(name: str) -> Exception:
    return conflict(f"a strategy named {name!r} already exists on this account with another definition")


def create_strategy(caller: Principal, body: StrategyCreate) -> Created:
    params = checked_params(body.type, body.params)
    sizing = body.sizing.model_dump(mode="json", exclude_none=True)
    definition = {
        "type": body.type,
        "params": params,
        "symbols": sorted(set(body.symbols)),
        "timeframe": body.timeframe,
        "sizing": sizing,
        "allow_short": body.allow_short,
        "enabled": body.enabled,
    }
    with transaction() as conn:
        account = account_for_write(conn, caller, body.account_id)
        row = conn.execute(
            f"""insert into strategy.strategies
                  (id, account_id, name, type, params, symbols, timeframe, sizing, allow_short, enabled)
                values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                on conflict (account_id, name) where deleted_at is null do nothing
                returning {COLUMNS}""",
            (
                uuid.uuid4(),
                account,
                body.name,
                body.type,
                Jsonb(params),
                definition["symbols"],
                body.timeframe,
                Jsonb(sizing),
                body.allow_short,
                body.enabled,
            ),
        ).fetchone()
        if row is not None:
            return Created(view(row), replayed=False)
        existing = conn.execute(
            f"select {COLUMNS} from strategy.strategies where account_id = %s and name = %s and deleted_at is null",
            (account, body.name),
        ).fetchone()
    if existing is None:  # deleted between our insert and read: the client retries
        raise conflict("the strategy changed while it was being created; retry")
    stored = {k: (list(existing[k]) if k == "symbols" else existing[k]) for k in _DEFINITION}
    if stored != definition:
        raise _name_taken(body.name)
    return Created(view(existing), replayed=True)


def update_strategy(caller: Principal, strategy_id: uuid.UUID, body: StrategyUpdate) -> StrategyView:
    changes = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    with transaction() as conn:
        current = strategy_row(conn, caller, strategy_id, WRITE)
        conn.execute("select 1 from strategy.strategies where id = %s for update", (strategy_id,))
        current = strategy_row(conn, caller, strategy_id, WRITE)  # re-read under the lock
        if body.expected_version is not None and body.expected_version != current["version"]:
            raise conflict(
                f"strategy {strategy_id} is at version {current['version']}, not {body.expected_version}",
                version=current["version"],
            )
        if not changes:
            return view(current)
        new = {**current, **{k: v for k, v in changes.items() if v is not None}}
        if "type" in changes or "params" in changes:
            new["params"] = checked_params(new["type"], dict(new["params"]))
        if body.sizing is not None:
            new["sizing"] = body.sizing.model_dump(mode="json", exclude_none=True)
        if body.symbols is not None:
            new["symbols"] = sorted(set(body.symbols))
        try:
            with conn.transaction():
                row = conn.execute(
                    f"""update strategy.strategies
                        set name = %s, type = %s, params = %s, symbols = %s, timeframe = %s, sizing = %s,
                            allow_short = %s, version = version + 1, updated_at = now()
                        where id = %s returning {COLUMNS}""",
                    (
                        new["name"],
                        new["type"],
                        Jsonb(new["params"]),
                        list(new["symbols"]),
                        new["timeframe"],
                        Jsonb(new["sizing"]),
                        new["allow_short"],
                        strategy_id,
                    ),
                ).fetchone()
        except UniqueViolation:
            raise _name_taken(str(new["name"])) from None
    assert row is not None
    return view(row)
