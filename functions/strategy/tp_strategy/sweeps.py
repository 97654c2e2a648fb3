"""Parameter sweeps: the API side of the Step Functions fan-out (inputs, per-cell results, ranking).

POST stores the sweep (its resolved base job and grid) and starts one execution of the `sweep` state
machine, named after the sweep (a retried start is the same execution), whose Distributed Map
hands each cell index to `sweep_cell`; `sweep_finish` closes the sweep. The grid and the ranking are
strat-lib's `tp_strategy.grid` (no backtest engine: the routes do not import it), a cell's run its
`tp_strategy.sweep` (both shared with the CLI's local sweep): cell `i` is the `i`-th combination of
the stored grid (names sorted), so any worker rebuilds it from the sweep alone and the execution's
input stays a list of integers. Each cell writes its row once (`primary key
(sweep_id, cell)`), so a retried cell changes nothing. Results are ranked when read, best first; a
refused cell (its strategy rejects the combination, or no bars) is stored with its reason, ranked last.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb
from tradeplane.auth import Principal
from tradeplane.db import transaction
from tradeplane.observability import logger
from tradeplane.problems import Problem, unprocessable

from tp_strategy.access import READ, account_for_write, owned_row
from tp_strategy.api.job_models import MAX_SWEEP_CELLS, BacktestSpec, SweepCellResult, SweepRequest, SweepView
from tp_strategy.backtest_jobs import resolve_spec
from tp_strategy.grid import CellResult, SweepError, expand_grid, rank
from tp_strategy.job_store import insert_once
from tp_strategy.param_check import checked_params

__all__ = ["Started", "finish_sweep", "get_sweep", "grid_cells", "run_cell", "start_sweep"]

_COLUMNS = "id, account_id, status, cells, rank_by, error, created_at, started_at, finished_at, request"

StartExecution = Callable[[dict[str, Any], str], str]


@dataclass(frozen=True)
class Started:
    sweep: SweepView
    replayed: bool


def grid_cells(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The grid's cells in their one order (names sorted: the stored JSON does not keep the client's order)."""
    try:
        return expand_grid({name: grid[name] for name in sorted(grid)}, max_cells=MAX_SWEEP_CELLS)
    except SweepError as exc:
        raise unprocessable(str(exc), errors=[{"loc": "body.grid", "msg": str(exc), "type": "grid"}]) from None


def start_sweep(caller: Principal, request: SweepRequest, key: str | None, start: StartExecution) -> Started:
    combinations = grid_cells(request.grid)
    cells = len(combinations)
    with transaction() as conn:
        account = account_for_write(conn, caller, request.base.account_id)
        spec = resolve_spec(conn, caller, request.base)
        # Every cell's parameters are checked now: a bad grid value is a 422 naming it, not a failed cell.
        for cell, params in enumerate(combinations):
            checked_params(spec.type, {**spec.params, **params}, where=f"body.grid[cell {cell}]")
        stored = Jsonb({"base": spec.model_dump(mode="json"), "grid": request.grid})
        values = {"id": uuid.uuid4(), "account_id": account, "request": stored, "rank_by": request.rank_by}
        row, replayed = insert_once(
            conn, "strategy.sweeps", _COLUMNS, {**values, "cells": cells, "idempotency_key": key}
        )
        if replayed:
            if row["request"] != stored.obj or row["rank_by"] != request.rank_by:
                raise unprocessable("this Idempotency-Key was used for another sweep request")
            return Started(_view(row, []), replayed=True)
    sweep_id = row["id"]
    try:
        execution = start({"sweep_id": str(sweep_id), "cells": list(range(cells))}, str(sweep_id))
    except Exception:  # noqa: BLE001 (a sweep nobody runs must say so)
        logger.exception("sweep execution could not be started", extra={"sweep_id": str(sweep_id)})
        finish_sweep(sweep_id, "failed", "the sweep could not be started; submit again")
        raise Problem(503, slug="unavailable", detail="the sweep could not be started; retry") from None
    with transaction() as conn:
        # Queued -> running, unless a fast execution already finished it (then it stays as it is).
        conn.execute(
            """update strategy.sweeps set status = 'running', execution = %s, started_at = now()
               where id = %s and status = 'queued'""",
            (execution, sweep_id),
        )
        now = conn.execute(f"select {_COLUMNS} from strategy.sweeps where id = %s", (sweep_id,)).fetchone()
    assert now is not None
    return Started(_view(dict(now), []), replayed=False)


def _view(row: dict[str, Any], results: list[SweepCellResult], completed: int = 0) -> SweepView:
    return SweepView.model_validate({**row, "results": results, "completed": completed})


def get_sweep(caller: Principal, sweep_id: uuid.UUID, limit: int) -> SweepView:
    with transaction(read_only=True) as conn:
        row = owned_row(conn, caller, READ, "sweep", f"{_COLUMNS} from strategy.sweeps", sweep_id)
        rows = conn.execute(
            "select cell, params, metrics from strategy.sweep_results where sweep_id = %s", (sweep_id,)
        ).fetchall()
    results = [
        CellResult(r["cell"], r["params"], None if "error" in r["metrics"] else r["metrics"], r["metrics"].get("error"))
        for r in rows
    ]
    ranked = [
        SweepCellResult(rank=i + 1, cell=c.cell, params=c.params, metrics=c.metrics or {"error": c.error})
        for i, c in enumerate(rank(results, str(row["rank_by"]))[:limit])
    ]
    return _view(dict(row), ranked, len(rows))


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
    params = grid_cells(sweep["request"]["grid"])[cell]
    try:
        result = job_runner.run_cell(base, cell, params)
        metrics = result.metrics if result.metrics is not None else {"error": result.error}
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
