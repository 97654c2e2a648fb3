"""Database migrations with yoyo-migrations: versioned SQL files under `migrations/`.

    apply_migrations("postgresql://user:pw@host/db")   # -> ids applied now ([] when up to date)

Files are named `NNNN_what.sql` (with an optional `NNNN_what.rollback.sql`) and
declare their parents in a `-- depends: ...` comment. Applying takes yoyo's lock
(a row in `yoyo_lock`), so two deployers cannot run migrations at once; each
migration runs in its own transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

__all__ = [
    "DEFAULT_MIGRATIONS_DIR",
    "applied_migrations",
    "apply_migrations",
    "database_url_from_settings",
    "pending_migrations",
    "yoyo_url",
]

DEFAULT_MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
LOCK_TIMEOUT_S = 60


def yoyo_url(dsn: str) -> str:
    """`postgresql://` / `postgres://` URLs -> `postgresql+psycopg://` (yoyo's psycopg 3 backend)."""
    scheme, sep, rest = dsn.partition("://")
    if not sep:
        raise ValueError("migrations need a URL DSN (postgresql://user@host:port/db), not key=value conninfo")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    if scheme == "postgresql+psycopg":
        return dsn
    raise ValueError(f"unsupported database URL scheme {scheme!r}; expected postgresql://")


def database_url_from_settings(*, read_only: bool = False) -> str:
    """The primary (or read) DSN from settings, with credentials from TP_DB_SECRET_ID filled in when set."""
    from tradeplane.db import _secret_kwargs
    from tradeplane.settings import PostgresSettings, settings_for

    settings = settings_for(PostgresSettings)
    dsn = settings.db_read_dsn if read_only and settings.db_read_dsn else settings.db_dsn
    creds = _secret_kwargs()
    if not creds:
        return dsn
    parts = urlsplit(dsn)
    user = quote(str(creds.get("user", parts.username or "")), safe="")
    password = quote(str(creds.get("password", "")), safe="")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:{password}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _backend_and_migrations(dsn: str, directory: Path | None) -> tuple[Any, Any]:
    from yoyo import get_backend, read_migrations

    folder = Path(directory) if directory is not None else DEFAULT_MIGRATIONS_DIR
    if not folder.is_dir():
        raise FileNotFoundError(f"migrations directory {folder} does not exist")
    return get_backend(yoyo_url(dsn)), read_migrations(str(folder))


def apply_migrations(dsn: str, directory: Path | None = None) -> list[str]:
    """Apply every pending migration under yoyo's lock; returns the ids applied (idempotent)."""
    backend, migrations = _backend_and_migrations(dsn, directory)
    try:
        with backend.lock(timeout=LOCK_TIMEOUT_S):
            todo = backend.to_apply(migrations)
            backend.apply_migrations(todo)
            return [m.id for m in todo]
    finally:
        backend.connection.close()


def pending_migrations(dsn: str, directory: Path | None = None) -> list[str]:
    """Ids of the migrations not yet applied, in the order they would run."""
    backend, migrations = _backend_and_migrations(dsn, directory)
    try:
        return [m.id for m in backend.to_apply(migrations)]
    finally:
        backend.connection.close()


def applied_migrations(dsn: str, directory: Path | None = None) -> list[str]:
    """Ids of the known migrations already applied."""
    backend, migrations = _backend_and_migrations(dsn, directory)
    try:
        return [m.id for m in migrations if backend.is_applied(m)]
    finally:
        backend.connection.close()
