"""Backtest jobs: queued by the API, run by `backtest_worker` (an asynchronous Lambda invoke), read back.

POST stores the resolved job (a strategy id is resolved to its type, parameters, sizing and shorting
now, so the job runs what was asked even if the strategy changes later) and hands the id to the
worker. A client's `Idempotency-Key` makes the POST safe to retry: the same key returns the same
job. The worker claims a job once (`queued` -> `running`; a `running` job whose worker died is
claimed again after `STALE_AFTER`), so Lambda's retries of an asynchronous invoke never run it twice
at once, and a finished job is never run again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from psycopg.types.json import Jsonb
from tradeplane.auth import Principal
from tradeplane.db import DbConnection, transaction
from tradeplane.observability import logger
from tradeplane.problems import Problem, conflict, unprocessable

from tp_strategy import job_runner
from tp_strategy.access import READ, account_for_write, owned_row
from tp_strategy.api.job_models import BacktestRequest, BacktestSpec, BacktestView
from tp_strategy.catalog import strategy_row
from tp_strategy.job_store import insert_once
from tp_strategy.param_check import checked_params
from tp_strategy.sizing import SizingRule

__all__ = ["STALE_AFTER", "Queued", "get_backtest", "queue_backtest", "report", "resolve_spec", "run_backtest"]

STALE_AFTER = timedelta(minutes=16)  # longer than the worker's 15-minute Lambda timeout
_COLUMNS = "id, account_id, status, request, result, error, created_at, started_at, finished_at"
_WITH_REPORT = f"{_COLUMNS}, report"
ALL_CASH = SizingRule(kind="all_cash")


@dataclass(frozen=True)
class Queued:
    backtest: BacktestView
    replayed: bool


def resolve_spec(conn: DbConnection, caller: Principal, request: BacktestRequest) -> BacktestSpec:
    """The job as it will run: the strategy's definition (when named) under the request's overrides."""
    if request.strategy_id is not None:
        strategy = strategy_row(conn, caller, request.strategy_id, READ)
        type_name, params = str(strategy["type"]), dict(strategy["params"])
        sizing = request.sizing.model_dump(mode="json", exclude_none=True) if request.sizing else strategy["sizing"]
        allow_short = strategy["allow_short"] if request.allow_short is None else request.allow_short
    else:
        assert request.type is not None
        type_name, params = request.type, checked_params(request.type, request.params or {})
        sizing = (request.sizing or ALL_CASH).model_dump(mode="json", exclude_none=True)
        allow_short = bool(request.allow_short)
    from tp_strategy.backtest import BacktestConfig

    config = BacktestConfig(
        cash=request.cash,
        commission_bps=request.commission_bps,
        fixed_fee=request.fixed_fee,
        slippage_bps=request.slippage_bps,
        fill_at=request.fill_at,
        allow_short=allow_short,
        sizing=sizing,
    )
    return BacktestSpec(
        type=type_name,
        params=params,
        symbol=request.symbol,
        timeframe=request.timeframe,
        start=request.start,
        end=request.end,
        config=config.model_dump(mode="json"),
        strategy_id=request.strategy_id,
    )


def _view(row: dict[str, Any]) -> BacktestView:
    return BacktestView.model_validate(row)


def queue_backtest(
    caller: Principal, request: BacktestRequest, key: str | None, start_worker: Callable[[uuid.UUID], None]
) -> Queued:
    """Store the job and hand it to the worker (after the commit, so the worker finds it)."""
    with transaction() as conn:
        account = account_for_write(conn, caller, request.account_id)
        spec = resolve_spec(conn, caller, request)
        stored = Jsonb(spec.model_dump(mode="json"))
        row, replayed = insert_once(
            conn,
            "strategy.backtests",
            _COLUMNS,
            {"id": uuid.uuid4(), "account_id": account, "request": stored, "idempotency_key": key},
        )
        if replayed:
            if row["request"] != stored.obj:
                raise unprocessable("this Idempotency-Key was used for another backtest request")
            return Queued(_view(row), replayed=True)
    job = _view(row)
    try:
        start_worker(job.id)
    except Exception:  # noqa: BLE001 (any failure to hand off leaves a job nobody runs: say so)
        logger.exception("backtest worker could not be started", extra={"backtest_id": str(job.id)})
        _finish(job.id, None, "the backtest worker could not be started; submit again")
        raise Problem(503, slug="unavailable", detail="the backtest worker could not be started; retry") from None
    return Queued(job, replayed=False)


def _job(caller: Principal, backtest_id: uuid.UUID, columns: str = _COLUMNS) -> dict[str, Any]:
    with transaction() as conn:
        return owned_row(conn, caller, READ, "backtest", f"{columns} from strategy.backtests", backtest_id)


def get_backtest(caller: Principal, backtest_id: uuid.UUID) -> BacktestView:
    return _view(_job(caller, backtest_id))


def report(caller: Principal, backtest_id: uuid.UUID) -> str:
    """The HTML report the worker rendered (409 while the job is queued or running, or when it failed)."""
    job = _job(caller, backtest_id, _WITH_REPORT)
    if job["status"] != "succeeded" or job["report"] is None:
        raise conflict(f"backtest {backtest_id} is {job['status']}: a report exists once it has succeeded")
    return str(job["report"])


# --------------------------------------------------------------------------- the worker


def _claim(backtest_id: uuid.UUID) -> BacktestSpec | None:
    with transaction() as conn:
        row = conn.execute(
            """update strategy.backtests set status = 'running', started_at = now()
               where id = %s and (status = 'queued' or (status = 'running' and started_at < now() - %s))
               returning request""",
            (backtest_id, STALE_AFTER),
        ).fetchone()
    return None if row is None else BacktestSpec.model_validate(row["request"])


def _finish(backtest_id: uuid.UUID, outcome: job_runner.Outcome | None, error: str | None) -> None:
    result = None if outcome is None else Jsonb(outcome.result)
    with transaction() as conn:
        conn.execute(
            """update strategy.backtests set status = %s, result = %s, report = %s, error = %s, finished_at = now()
               where id = %s""",
            ("succeeded" if error is None else "failed", result, outcome and outcome.report, error, backtest_id),
        )


def run_backtest(backtest_id: uuid.UUID) -> str:
    """Run one queued job; returns its final status ("skipped" when another run holds or finished it)."""
    spec = _claim(backtest_id)
    if spec is None:
        return "skipped"
    try:
        outcome = job_runner.run_spec(spec, report=True)
    except job_runner.JobRefusedError as exc:  # bad input found only now (e.g. no stored bars): the user's to fix
        _finish(backtest_id, None, str(exc))
        return "failed"
    except Exception:  # noqa: BLE001 (a bug or an outage: logged, the job says so, no retry storm)
        logger.exception("backtest failed", extra={"backtest_id": str(backtest_id)})
        _finish(backtest_id, None, "the backtest failed unexpectedly; it has been logged")
        return "failed"
    _finish(backtest_id, outcome, None)
    return "succeeded"
