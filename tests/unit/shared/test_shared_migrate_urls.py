"""Migration URL handling (no database needed)."""

from __future__ import annotations

import pytest
from tradeplane_tools.migrate import DEFAULT_MIGRATIONS_DIR, database_url_from_settings, yoyo_url


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_yoyo_url(dsn: str, expected: str) -> None:
    assert yoyo_url(dsn) == expected


@pytest.mark.parametrize("dsn", ["host=h dbname=db", "mysql://u@h/db"])
def test_yoyo_url_rejects_others(dsn: str) -> None:
    with pytest.raises(ValueError):
        yoyo_url(dsn)


def test_database_url_without_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_DB_DSN", "postgresql://postgres@127.0.0.1:5432/tp")
    assert database_url_from_settings() == "postgresql://postgres@127.0.0.1:5432/tp"


def test_database_url_with_secret_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from tradeplane import db

    monkeypatch.setenv("TP_DB_DSN", "postgresql://proxy.example.com:5432/tp?sslmode=require")
    monkeypatch.setenv("TP_DB_SECRET_ID", "rds-secret")
    monkeypatch.setattr(db, "_secret_kwargs", lambda: {"user": "app", "password": "p@ss/word"})
    assert database_url_from_settings() == "postgresql://app:p%40ss%2Fword@proxy.example.com:5432/tp?sslmode=require"


def test_migration_files_declare_dependencies() -> None:
    files = sorted(p for p in DEFAULT_MIGRATIONS_DIR.glob("*.sql") if not p.name.endswith(".rollback.sql"))
    assert [p.stem for p in files][:3] == ["0001_schemas", "0002_market_bars", "0003_ops_inbox"]
    for path in files:
        assert "-- depends:" in path.read_text(), path.name
