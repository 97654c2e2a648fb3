"""Per-environment settings: sizes, toggles and names that are not in the manifest.

The manifest says *what* runs; this says *how big* and *where*. One JSON file per
environment under `infra/cdk/config/` (dev, prod, localstack), overridable from
CDK context with `-c tp:<dotted.path>=<value>` (for example
`-c tp:api.allowlist_cidrs=203.0.113.0/24`) so one-off deploys need no file edit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
OVERRIDE_PREFIX = "tp:"


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NetworkConfig(_Cfg):
    max_azs: int = Field(2, ge=2, le=3)  # RDS subnet groups and MSK need two AZs
    nat_gateways: int = Field(0, ge=0, le=3)
    # Interface endpoints are billed per AZ-hour; dev keeps them in one AZ.
    endpoint_azs: int = Field(1, ge=1, le=3)
    flow_logs_retention_days: int = 14


class DatabaseConfig(_Cfg):
    # A pinned minor (aws-cdk-lib's PostgresEngineVersion.VER_16_13); auto minor upgrades move it on.
    engine_version: str = Field("16.13", pattern=r"^\d+\.\d+$")
    instance_class: str = "t4g.micro"
    allocated_storage_gb: int = 20
    max_allocated_storage_gb: int = 100
    multi_az: bool = False
    read_replica: bool = True
    replica_instance_class: str = "t4g.micro"
    backup_retention_days: int = Field(1, ge=1, le=35)
    deletion_protection: bool = False
    rotation_days: int = 30
    # A non-default port only for nag AwsSolutions-RDS11; the proxy listens on 5432.
    port: int = 5433
    database_name: str = "tradeplane"
    username: str = "tradeplane"


class CacheConfig(_Cfg):
    engine: Literal["valkey", "redis"] = "valkey"
    engine_version: str = "8.0"
    node_type: str = "cache.t4g.micro"
    replicas: int = Field(0, ge=0, le=5)
    port: int = 6380  # non-default (AwsSolutions-AEC5)


class KafkaConfig(_Cfg):
    kafka_version: str = "3.8.x"
    broker_instance_type: str = "kafka.t3.small"
    brokers: int = Field(2, ge=2)  # one per AZ, a multiple of max_azs
    volume_gb: int = 20
    # Kafka ESM error handling (retries, bisect, Kafka DLQ) needs provisioned pollers.
    min_pollers: int = Field(1, ge=1)
    max_pollers: int = Field(2, ge=1)
    default_retention_hours: int = 168


class FunctionsConfig(_Cfg):
    log_retention_days: int = 14
    tracing: bool = True


class ApiConfig(_Cfg):
    throttle_rate: float = 50
    throttle_burst: int = 100
    access_log_retention_days: int = 30
    domain_name: str | None = None
    certificate_arn: str | None = None  # ACM certificate in the API's region
    cloudfront: bool = False
    # Global IP allowlist (CIDRs) enforced by WAF on CloudFront; empty = open.
    allowlist_cidrs: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    # The WebSocket API (streaming): its own stage throttle (messages and connects per second).
    websocket_throttle_rate: float = 50
    websocket_throttle_burst: int = 100


class AlarmConfig(_Cfg):
    email: str | None = None
    error_threshold: int = 1
    consumer_lag_threshold: int = 1000
    dlq_threshold: int = 1


class LocalStackConfig(_Cfg):
    """Endpoints as the Lambda containers LocalStack starts see them (compose network)."""

    db_dsn: str = "postgresql://tradeplane:tradeplane@postgres:5432/tradeplane"
    db_read_dsn: str | None = None
    redis_url: str = "redis://redis:6379/0"
    kafka_bootstrap: str = "redpanda:9092"


class EnvConfig(_Cfg):
    stage: str = Field("dev", pattern=r"^[a-z][a-z0-9]{1,9}$")
    target: Literal["aws", "localstack"] = "aws"
    account: str | None = None
    region: str | None = None
    retain_data: bool = False  # prod keeps data stores on stack deletion
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    kafka: KafkaConfig = Field(default_factory=KafkaConfig)
    functions: FunctionsConfig = Field(default_factory=FunctionsConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    alarms: AlarmConfig = Field(default_factory=AlarmConfig)
    localstack: LocalStackConfig = Field(default_factory=LocalStackConfig)


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    if isinstance(value, str):
        # Context values arrive as strings: accept JSON (true, 3, [..]) and comma lists.
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            if "," in value or leaf.endswith(("_cidrs", "_origins")):
                value = [v for v in value.split(",") if v]
    node[leaf] = value


def load_config(env: str, overrides: Mapping[str, Any] | None = None, *, config_dir: Path = CONFIG_DIR) -> EnvConfig:
    """Read `config/<env>.json` and apply `tp:` overrides from CDK context."""
    path = config_dir / f"{env}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in config_dir.glob("*.json")))
        raise ValueError(f"no config for environment {env!r} ({path}); known: {known}")
    data: dict[str, Any] = json.loads(path.read_text())
    for key, value in (overrides or {}).items():
        if key.startswith(OVERRIDE_PREFIX):
            _set_dotted(data, key[len(OVERRIDE_PREFIX) :], value)
    return EnvConfig.model_validate(data)
