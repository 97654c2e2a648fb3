"""Postgres access for Lambda: one small pool per DSN per container, reused across invocations.

    from tradeplane.db import transaction

    with transaction() as conn:
        conn.execute("insert ...", (...,))

Connections use `prepare_threshold=None` (safe behind RDS Proxy / pgbouncer),
autocommit off and `dict_row`. Each checkout is validated
(`ConnectionPool.check_connection`), so a connection the server or proxy
closed while the container was frozen is replaced instead of failing the
invocation. Nothing connects at import; the pool is built on first use.

In AWS, TP_DB_DSN names the host/database only and TP_DB_SECRET_ID names the
RDS-generated Secrets Manager secret ({"username", "password"}); the secret is
fetched (cached with a max age) each time a new connection is made, so a
rotated password is picked up without a cold start.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg import Connection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from tradeplane.settings import PostgresSettings, settings_for

__all__ = ["DbConnection", "close_pools", "connection", "transaction"]

DbConnection = Connection[DictRow]

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


def _dsn(read_only: bool) -> str:
    settings = settings_for(PostgresSettings)
    if read_only and settings.db_read_dsn:
        return settings.db_read_dsn
    return settings.db_dsn


@contextmanager
def connection(*, read_only: bool = False) -> Iterator[DbConnection]:
    """A pooled connection (autocommit off). Reads that tolerate lag pass `read_only=True`.

    `read_only=True` routes to TP_DB_READ_DSN when set (else the primary) and
    opens its transactions READ ONLY. On leaving the block the pool commits
    (or rolls back on an exception) and keeps the connection for the next call.
    """
    pool = _pool_for(_dsn(read_only))
    with pool.connection() as conn:
        conn.read_only = read_only
        yield conn


@contextmanager
def transaction(*, read_only: bool = False) -> Iterator[DbConnection]:
    """`connection()` plus one explicit transaction: committed on success, rolled back on error."""
    with connection(read_only=read_only) as conn, conn.transaction():
        yield conn


def close_pools() -> None:
    """Close every pool (tests, or a clean shutdown). The next call builds fresh ones."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close(timeout=5.0)
