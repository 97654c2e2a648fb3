"""Settings: the TP_* contract and clear errors for missing bindings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tradeplane.settings import (
    ConfigurationError,
    FunctionSettings,
    KafkaSettings,
    PostgresSettings,
    RedisSettings,
    env_key,
    load_settings,
    reset_settings,
    settings_for,
)


def test_function_settings_defaults() -> None:
    s = FunctionSettings()
    assert s.stage == "local" and s.function == "" and s.is_local


def test_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_STAGE", "prod")
    monkeypatch.setenv("TP_FUNCTION", "orders_submit")
    monkeypatch.setenv("TP_DB_DSN", "postgresql://db/tp")
    monkeypatch.setenv("TP_DB_READ_DSN", "postgresql://replica/tp")
    monkeypatch.setenv("TP_DB_SECRET_ID", "rds!cluster")
    monkeypatch.setenv("TP_REDIS_URL", "rediss://cache:6379/0")
    monkeypatch.setenv("TP_KAFKA_BOOTSTRAP", "b-1:9098")
    monkeypatch.setenv("TP_KAFKA_SECURITY", "iam")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")

    class Everything(PostgresSettings, RedisSettings, KafkaSettings):
        pass

    s = load_settings(Everything)
    assert (s.stage, s.function, s.db_dsn, s.db_read_dsn, s.db_secret_id) == (
        "prod", "orders_submit", "postgresql://db/tp", "postgresql://replica/tp", "rds!cluster",
    )  # fmt: skip
    assert s.redis_url == "rediss://cache:6379/0" and s.kafka_security == "iam" and s.aws_region == "eu-central-1"
    # The shared clients see the function's own model.
    assert settings_for(PostgresSettings) is s and settings_for(KafkaSettings) is s


def test_region_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert FunctionSettings().aws_region == "us-east-1"


def test_missing_variables_are_named_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    class Needs(PostgresSettings, KafkaSettings):
        secret_jwt_signing_keys: str

    monkeypatch.setenv("TP_DB_DSN", "postgresql://db/tp")
    with pytest.raises(ConfigurationError) as info:
        load_settings(Needs)
    message = str(info.value)
    assert "TP_KAFKA_BOOTSTRAP is not set" in message and "TP_SECRET_JWT_SIGNING_KEYS is not set" in message
    assert "TP_DB_DSN" not in message


def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_KAFKA_BOOTSTRAP", "b:9092")
    monkeypatch.setenv("TP_KAFKA_SECURITY", "kerberos")
    with pytest.raises(ConfigurationError, match="TP_KAFKA_SECURITY"):
        load_settings(KafkaSettings)


def test_a_resource_outside_the_model_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_FUNCTION", "health_get")
    monkeypatch.setenv("TP_REDIS_URL", "redis://127.0.0.1:1/0")
    load_settings(RedisSettings)
    monkeypatch.setenv("TP_DB_DSN", "postgresql://db/tp")  # present, but not declared by the function
    with pytest.raises(ConfigurationError, match="health_get: its settings \\(RedisSettings\\) do not include"):
        settings_for(PostgresSettings)


def test_standalone_use_reads_the_part_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_DB_DSN", "postgresql://db/tp")
    first = settings_for(PostgresSettings)
    monkeypatch.setenv("TP_DB_DSN", "postgresql://other/tp")
    assert settings_for(PostgresSettings) is first
    reset_settings()
    assert settings_for(PostgresSettings).db_dsn == "postgresql://other/tp"


def test_env_key() -> None:
    assert env_key("jwt-signing-keys") == "JWT_SIGNING_KEYS" and env_key("raw.data") == "RAW_DATA"


def test_imports_stay_lazy() -> None:
    code = (
        "import sys, tradeplane.db, tradeplane.settings, tradeplane.envelope, tradeplane.problems, "
        "tradeplane.redis_client, tradeplane.kafka_producer, tradeplane.tokens, tradeplane.inbox\n"
        "heavy = [m for m in ('redis', 'confluent_kafka', 'boto3', 'yoyo', 'aws_msk_iam_sasl_signer') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "import tradeplane.db as db\nassert db._pools == {}\n"
    )
    layer = Path(__file__).resolve().parents[3] / "layers" / "shared"
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(layer)}, timeout=60)
