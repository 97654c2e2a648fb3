"""Settings: the TP_* contract and clear errors for missing bindings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tradeplane import settings
from tradeplane.settings import ConfigurationError, Settings, get_settings


def test_defaults() -> None:
    s = Settings()
    assert s.stage == "local" and s.function == ""
    assert s.db_dsn is None and s.db_read_dsn is None and s.db_secret_id is None
    assert s.redis_url is None and s.kafka_bootstrap is None and s.kafka_security == "plaintext"
    assert s.db_pool_max_size == 1


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
    s = get_settings()
    assert (s.stage, s.function, s.db_dsn, s.db_read_dsn, s.db_secret_id) == (
        "prod", "orders_submit", "postgresql://db/tp", "postgresql://replica/tp", "rds!cluster",
    )  # fmt: skip
    assert s.redis_url == "rediss://cache:6379/0" and s.kafka_security == "iam" and s.aws_region == "eu-central-1"
    assert get_settings() is s  # cached


def test_region_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert Settings().aws_region == "us-east-1"


def test_invalid_value_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_KAFKA_SECURITY", "kerberos")
    with pytest.raises(ConfigurationError, match="kafka_security"):
        get_settings()


def test_secret_bucket_service_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_SECRET_JWT_SIGNING_KEYS", "tp/dev/jwt")
    monkeypatch.setenv("TP_BUCKET_RAW_DATA", "tp-dev-raw")
    monkeypatch.setenv("TP_SERVICE_URL_CORE", "https://api.example.com/")
    assert settings.secret_id("jwt-signing-keys") == "tp/dev/jwt"
    assert settings.secret_id("jwt_signing_keys") == "tp/dev/jwt"
    assert settings.bucket_name("raw-data") == "tp-dev-raw"
    assert settings.service_url("core") == "https://api.example.com"


@pytest.mark.parametrize(
    ("fn", "arg", "variable"),
    [
        (settings.secret_id, "jwt-signing-keys", "TP_SECRET_JWT_SIGNING_KEYS"),
        (settings.bucket_name, "raw", "TP_BUCKET_RAW"),
        (settings.service_url, "core", "TP_SERVICE_URL_CORE"),
    ],
)
def test_missing_binding_names_the_variable(fn: object, arg: str, variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        fn(arg)  # type: ignore[operator]


def test_require() -> None:
    assert settings.require("x", "TP_X") == "x"
    with pytest.raises(ConfigurationError, match="TP_X is not set"):
        settings.require(None, "TP_X")


def test_env_key_matches_manifest() -> None:
    from tradeplane_tools.manifest import env_key

    for name in ["jwt-signing-keys", "raw.data", "Core", "a b"]:
        assert settings.env_key(name) == env_key(name)


def test_imports_stay_lazy() -> None:
    code = (
        "import sys, tradeplane.db, tradeplane.settings, tradeplane.envelope, tradeplane.problems, "
        "tradeplane.cache, tradeplane.kafka, tradeplane.tokens, tradeplane.inbox, tradeplane.migrate\n"
        "heavy = [m for m in ('redis', 'confluent_kafka', 'boto3', 'yoyo', 'aws_msk_iam_sasl_signer') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "import tradeplane.db as db\nassert db._pools == {}\n"
    )
    layer = Path(__file__).resolve().parents[3] / "layers" / "shared"
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(layer)}, timeout=60)
