"""Postgres access for Lambda: one small pool per DSN per container, reused across invocations.

    from tradeplane.db import transaction

    with transaction() as conn:
        conn.execute("insert ...", (...,))

Connections use `prepare_threshold=None` (safe behind RDS Proxy / pgbouncer),
autocommit off and `dict_row`. Each checkout is validated
(`ConnectionPool.check_connection`), so a connection the server or proxy
closed while the container was frozen is replaced instead of failing the
invocation. Nothing connects at import; the pool is built on first use.

Every checkout is counted in the invocation's metrics by the server that served it:
`DbReplicaReads` (a read that tolerates lag, on the replica), `DbPrimaryReads` (such a read on the
primary: no replica configured, or it was down) and `DbWriterCheckouts` (writes and reads that must see
their own writes). They travel with the function's other metrics (EMF in its log): in CloudWatch they
give the replica's share of reads, and `tradeplane demo` prints the share for its own workload.

In AWS, TP_DB_DSN names the host/database only and TP_DB_SECRET_ID names the
RDS-generated Secrets Manager secret ({"username", "password"}); the secret is
fetched (cached with a max age) each time a new connection is made, so a
rotated password is picked up without a cold start.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, ParamSpec, TypeVar

from psycopg import Connection, OperationalError
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from tradeplane.outage import LOCK_CONFLICT_STATES
from tradeplane.settings import PostgresSettings, settings_for

__all__ = ["DbConnection", "close_pools", "connection", "is_lock_conflict", "retry_lock_conflicts", "transaction"]

DbConnection = Connection[DictRow]

# Metric names: which server served a checkout (see the module docstring).
REPLICA_READS, PRIMARY_READS, WRITER_CHECKOUTS = "DbReplicaReads", "DbPrimaryReads", "DbWriterCheckouts"

_pools: dict[str, ConnectionPool[DbConnection]] = {}
_lock = threading.Lock()


def _secret_kwargs() -> dict[str, Any]:
    """Extra connect() arguments: credentials from Secrets Manager when TP_DB_SECRET_ID is set."""
    settings = settings_for(PostgresSettings)
    if not settings.db_secret_id:
        return {}
    from aws_lambda_powertools.utilities.parameters import get_secret

    secret = get_secret(settings.db_secret_id, transform="json", max_age=settings.db_secret_max_age_s)
    kwargs: dict[str, Any] = {}
    if secret.get("username"):
        kwargs["user"] = secret["username"]
    if secret.get("password"):
        kwargs["password"] = secret["password"]
    return kwargs


def _build_pool(dsn: str) -> ConnectionPool[DbConnection]:
    """The one place that decides how connections are made and pooled."""
    settings = settings_for(PostgresSettings)

    def connect_kwargs() -> dict[str, Any]:
        return {
            "autocommit": False,
            "prepare_threshold": None,  # no server-side prepared statements: RDS Proxy / pgbouncer safe
            "row_factory": dict_row,
            "connect_timeout": settings.db_connect_timeout_s,
            "application_name": (settings.function or "tradeplane")[:63],
            **_secret_kwargs(),
        }

    pool: ConnectionPool[DbConnection] = ConnectionPool(
        dsn,
        connection_class=DbConnection,
        kwargs=connect_kwargs,
        min_size=settings.db_pool_min_size,
        max_size=max(settings.db_pool_max_size, settings.db_pool_min_size, 1),
        timeout=settings.db_pool_timeout_s,
        check=ConnectionPool.check_connection,
        max_idle=10 * 60.0,
        max_lifetime=30 * 60.0,
        reconnect_timeout=30.0,
        num_workers=1,
        name="tradeplane",
        open=False,
    )
    pool.open(wait=False)
    return pool


def _pool_for(dsn: str) -> ConnectionPool[DbConnection]:
    pool = _pools.get(dsn)
    if pool is None:
        with _lock:
            pool = _pools.get(dsn)
            if pool is None:
                pool = _pools[dsn] = _build_pool(dsn)
    return pool


class _ReplicaHealth:
    """After a failed checkout the replica is skipped for a while, so reads stay fast while it is down."""

    def __init__(self) -> None:
        self.retry_at = 0.0

    def usable(self) -> bool:
        return time.monotonic() >= self.retry_at

    def failed(self, retry_after_s: float) -> None:
        self.retry_at = time.monotonic() + retry_after_s


_replica = _ReplicaHealth()


def _count(metric: str) -> None:
    from tradeplane.observability import metrics

    if metrics.namespace:  # set by `instrument`: outside a function (scripts, tests) there is nowhere to publish
        from aws_lambda_powertools.metrics import MetricUnit

        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)


def _checkout(stack: ExitStack, read_only: bool) -> DbConnection:
    settings = settings_for(PostgresSettings)
    # Locally without a replica the read DSN is the primary's: those reads are the primary's, not a replica's.
    replica = settings.db_read_dsn if settings.db_read_dsn != settings.db_dsn else None
    if read_only and replica and _replica.usable():
        pool = _pool_for(replica)
        try:
            conn = stack.enter_context(pool.connection(timeout=settings.db_replica_timeout_s))
            _count(REPLICA_READS)
            return conn
        except (PoolTimeout, OperationalError) as exc:
            # Reads that tolerate lag tolerate the primary too: degrade, never fail, and say so.
            _replica.failed(settings.db_replica_retry_s)
            from tradeplane.observability import logger

            logger.warning(
                "read replica unavailable; reading from the primary",
                extra={"error": type(exc).__name__, "retry_in_s": settings.db_replica_retry_s},
            )
    conn = stack.enter_context(_pool_for(settings.db_dsn).connection())
    _count(PRIMARY_READS if read_only else WRITER_CHECKOUTS)
    return conn


@contextmanager
def connection(*, read_only: bool = False) -> Iterator[DbConnection]:
    """A pooled connection (autocommit off). Reads that tolerate lag pass `read_only=True`.

    `read_only=True` routes to TP_DB_READ_DSN when set (else the primary) and
    opens its transactions READ ONLY; when the replica cannot be reached it
    reads from the primary with a warning. On leaving the block the pool
    commits (or rolls back on an exception) and keeps the connection.
    """
    with ExitStack() as stack:
        conn = _checkout(stack, read_only)
        conn.read_only = read_only
        yield conn


@contextmanager
def transaction(*, read_only: bool = False) -> Iterator[DbConnection]:
    """`connection()` plus one explicit transaction: committed on success, rolled back on error."""
    with connection(read_only=read_only) as conn, conn.transaction():
        yield conn


P = ParamSpec("P")
T = TypeVar("T")
CONFLICT_ATTEMPTS = 4


def is_lock_conflict(error: BaseException) -> bool:
    """A transaction PostgreSQL rolled back to resolve a conflict: nothing of it committed, and the same work
    run again normally succeeds."""
    return getattr(error, "sqlstate", None) in LOCK_CONFLICT_STATES


def retry_lock_conflicts(work: Callable[P, T]) -> Callable[P, T]:
    """Run `work` again (up to CONFLICT_ATTEMPTS times, after a short random wait) when its transaction lost a
    lock conflict. Only for functions whose writes are ONE transaction: rolled back whole, so running it again
    is the same request. Every writer of an account's book takes the account row first, so a conflict is
    rare; this is the guard for one that still happens (a caller sees it as a 503 only when all attempts lose)."""

    @functools.wraps(work)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return work(*args, **kwargs)
            except OperationalError as error:
                if attempt == CONFLICT_ATTEMPTS or not is_lock_conflict(error):
                    raise
                from tradeplane.observability import logger

                logger.warning("transaction lost a lock conflict; running it again",
                               extra={"sqlstate": error.sqlstate, "attempt": attempt})  # fmt: skip
                time.sleep(random.uniform(0.005, 0.02) * 2**attempt)  # noqa: S311 - jitter, so the two sides do not meet again
        raise AssertionError("unreachable")

    return run


def close_pools() -> None:
    """Close every pool (tests, or a clean shutdown). The next call builds fresh ones."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
        _replica.retry_at = 0.0
    for pool in pools:
        pool.close(timeout=5.0)
