"""Parameter sweeps: the API side of the Step Functions fan-out (inputs, per-cell results, ranking).

POST stores the sweep (its resolved base job and grid) and starts one execution of the `sweep` state
machine, named after the sweep (a retried start is the same execution), whose Distributed Map
hands each cell index to `sweep_cell`; `sweep_finish` closes the sweep. A cell's parameters are the
base parameters overlaid with one combination of the grid, in a fixed order (`cell_params`), so any
worker can rebuild cell `i` from the stored sweep alone and its input stays a list of integers. Each
cell writes its row once (`primary key (sweep_id, cell)`), so a retried cell changes nothing.
Results are ranked when read: by `rank_by`, best first (smallest drawdown first for max_drawdown).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb
from tradeplane.auth import Principal
from tradeplane.db import transaction
from tradeplane.observability import logger
from tradeplane.problems import Problem, not_found, unprocessable

from tp_strategy.access import READ, account_for_write, visible_accounts
from tp_strategy.api.models import MAX_SWEEP_CELLS, BacktestSpec, SweepCellResult, SweepRequest, SweepView
from tp_strategy.backtest_jobs import resolve_spec
from tp_strategy.param_check import checked_params

__all__ = ["Started", "cell_params", "finish_sweep", "get_sweep", "run_cell", "start_sweep"]

# Ranking direction per metric: larger values first, except the drawdown (a positive percent: smaller
# is better).
_RANK_DESC = {"max_drawdown_pct": False}
_COLUMNS = "id, account_id, status, cells, rank_by, error, created_at, started_at, finished_at, request"

StartExecution = Callable[[dict[str, Any], str], str]


@dataclass(frozen=True)
class Started:
    sweep: SweepView
    replayed: bool


def cell_params(base: dict[str, Any], grid: dict[str, list[Any]], cell: int) -> dict[str, Any]:
    """Cell `cell`'s parameters: `base` overlaid with the `cell`-th combination of the grid (names sorted)."""
    names = sorted(grid)
    combination = next(itertools.islice(itertools.product(*(grid[n] for n in names)), cell, None))
    return {**base, **dict(zip(names, combination, strict=True))}


def _cell_count(grid: dict[str, list[Any]]) -> int:
    count = 1
    for values in grid.values():
        count *= len(values)
    return count


def start_sweep(caller: Principal, request: SweepRequest, key: str | None, start: StartExecution) -> Started:
    cells = _cell_count(request.grid)
    if cells > MAX_SWEEP_CELLS:
        raise unprocessable(f"the grid has {cells} cells; at most {MAX_SWEEP_CELLS}")
    with transaction() as conn:
        account = account_for_write(conn, caller, request.base.account_id)
        spec = resolve_spec(conn, caller, request.base)
        # Every cell's parameters are checked now: a bad grid value is a 422 naming it, not a failed cell.
        for cell in range(cells):
            checked_params(spec.type, cell_params(spec.params, request.grid, cell), where=f"body.grid[cell {cell}]")
        stored = Jsonb({"base": spec.model_dump(mode="json"), "grid": request.grid})
        row = conn.execute(
            f"""insert into strategy.sweeps (id, account_id, request, rank_by, cells, idempotency_key)
                values (%s, %s, %s, %s, %s, %s)
                on conflict (account_id, idempotency_key) where idempotency_key is not null do nothing
                returning {_COLUMNS}""",
            (uuid.uuid4(), account, stored, request.rank_by, cells, key),
        ).fetchone()
        if row is None:
            earlier = conn.execute(
                f"select {_COLUMNS} from strategy.sweeps where account_id = %s and idempotency_key = %s",
                (account, key),
            ).fetchone()
            assert earlier is not None
            if earlier["request"] != stored.obj or earlier["rank_by"] != request.rank_by:
                raise unprocessable("this Idempotency-Key was used for another sweep request")
            return Started(_view(dict(earlier), []), replayed=True)
    sweep_id = row["id"]
    try:
        execution = start({"sweep_id": str(sweep_id), "cells": list(range(cells))}, str(sweep_id))
    except Exception:  # noqa: BLE001 (a sweep nobody runs must say so)
        logger.exception("sweep execution could not be started", extra={"sweep_id": str(sweep_id)})
        finish_sweep(sweep_id, "failed", "the sweep could not be started; submit again")
        raise Problem(503, slug="unavailable", detail="the sweep could not be started; retry") from None
    with transaction() as conn:
        row = (
            conn.execute(
                f"""update strategy.sweeps set status = 'running', execution = %s, started_at = now()
                where id = %s and status = 'queued' returning {_COLUMNS}""",
                (execution, sweep_id),
            ).fetchone()
            or conn.execute(f"select {_COLUMNS} from strategy.sweeps where id = %s", (sweep_id,)).fetchone()
        )
    assert row is not None
    return Started(_view(dict(row), []), replayed=False)


def _view(row: dict[str, Any], results: list[SweepCellResult], completed: int = 0) -> SweepView:
    return SweepView.model_validate({**row, "results": results, "completed": completed})


def get_sweep(caller: Principal, sweep_id: uuid.UUID, limit: int) -> SweepView:
    with transaction(read_only=True) as conn:
        accounts = visible_accounts(conn, caller, READ)
        row = conn.execute(
            f"select {_COLUMNS} from strategy.sweeps where id = %s and account_id = any(%s)", (sweep_id, accounts)
        ).fetchone()
        if row is None:
            raise not_found(f"sweep {sweep_id} not found")
        metric = str(row["rank_by"])
        order = "desc" if _RANK_DESC.get(metric, True) else "asc"
        results = conn.execute(
            f"""select cell, params, metrics, count(*) over () as completed from strategy.sweep_results
                where sweep_id = %s
                order by (metrics ->> %s)::double precision {order} nulls last, cell limit %s""",
            (sweep_id, metric, limit),
        ).fetchall()
    ranked = [
        SweepCellResult(rank=i + 1, cell=r["cell"], params=r["params"], metrics=r["metrics"])
        for i, r in enumerate(results)
    ]
    completed = int(results[0]["completed"]) if results else 0
    if not results:
        completed = 0
    return _view(dict(row), ranked, completed)


def run_cell(sweep_id: uuid.UUID, cell: int) -> str:
    """Backtest one cell and store its metrics once; a retried or repeated cell changes nothing."""
    from tp_strategy import job_runner

    with transaction() as conn:
        sweep = conn.execute("select request, cells from strategy.sweeps where id = %s", (sweep_id,)).fetchone()
        done = conn.execute(
            "select 1 from strategy.sweep_results where sweep_id = %s and cell = %s", (sweep_id, cell)
        ).fetchone()
    if sweep is None or not 0 <= cell < sweep["cells"]:
        raise ValueError(f"sweep {sweep_id} has no cell {cell}")  # a malformed execution input: fail the item
    if done is not None:
        return "skipped"
    base = BacktestSpec.model_validate(sweep["request"]["base"])
    params = cell_params(base.params, sweep["request"]["grid"], cell)
    try:
        metrics = job_runner.run_spec(base.model_copy(update={"params": params})).result["metrics"]
    except job_runner.JobRefusedError as exc:
        metrics = {"error": str(exc)}  # e.g. no bars: recorded (ranked last), not retried
    with transaction() as conn:
        conn.execute(
            """insert into strategy.sweep_results (sweep_id, cell, params, metrics) values (%s, %s, %s, %s)
               on conflict (sweep_id, cell) do nothing""",
            (sweep_id, cell, Jsonb(params), Jsonb(metrics)),
        )
    return "stored"


def finish_sweep(sweep_id: uuid.UUID, outcome: str, error: str | None = None) -> None:
    """The state machine's last step: the sweep's final status (once; a repeat changes nothing)."""
    status = "succeeded" if outcome == "succeeded" else "failed"
    with transaction() as conn:
        conn.execute(
            """update strategy.sweeps set status = %s, error = %s, finished_at = now()
               where id = %s and status in ('queued', 'running')""",
            (status, error, sweep_id),
        )
