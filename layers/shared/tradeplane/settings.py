"""Runtime configuration: the only module that reads the process environment.

Each function declares one typed settings model, composed from the resources
its manifest entry `uses` (`PostgresSettings`, `RedisSettings`,
`KafkaSettings`, plus its own fields), and loads it at import time:

    class Settings(PostgresSettings, KafkaSettings):
        api_audience: str = "tradeplane-api"

    SETTINGS = load_settings(Settings)   # cold start fails here, naming the variable

The variable names are the contract written by the tooling's `environment_for`
(`TP_DB_DSN`, `TP_SECRET_<NAME>`, ...). The shared clients (db, redis_client,
kafka_producer) ask `settings_for(...)` for the part they need, so a function
that uses a resource its model does not declare fails with a message saying so.

The models are plain pydantic models filled from `os.environ` here (field
`db_dsn` <- `TP_DB_DSN`, or the field's alias choices), not pydantic-settings:
that package cost ~140 ms of every cold start for features (dotenv, secrets
dirs, nested JSON) no function uses.
"""

from __future__ import annotations

import json
import os
import re
import threading
import types
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "ConfigurationError",
    "FunctionSettings",
    "KafkaSettings",
    "PostgresSettings",
    "RateLimitSettings",
    "RedisSettings",
    "env_key",
    "load_settings",
    "reset_settings",
    "settings_for",
]

S = TypeVar("S", bound="FunctionSettings")


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or invalid."""


class FunctionSettings(BaseModel):
    """What every function has: the `TP_*` identity, plus AWS_REGION."""

    model_config = ConfigDict(extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True)

    stage: str = "local"
    function: str = ""
    aws_region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION", "TP_AWS_REGION"),
    )

    @property
    def is_local(self) -> bool:
        return self.stage == "local"


class PostgresSettings(FunctionSettings):
    """`uses.postgres`: the primary DSN, an optional replica DSN and the credentials secret in AWS."""

    db_dsn: str
    db_read_dsn: str | None = None
    db_secret_id: str | None = None
    # Pool sizing: one connection per Lambda container unless told otherwise.
    db_pool_min_size: int = Field(default=0, ge=0)
    db_pool_max_size: int = Field(default=1, ge=1)
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    db_connect_timeout_s: int = Field(default=5, ge=1)
    db_secret_max_age_s: int = Field(default=300, ge=0)
    # A replica that cannot hand out a connection this fast is skipped for db_replica_retry_s.
    db_replica_timeout_s: float = Field(default=2.0, gt=0)
    db_replica_retry_s: float = Field(default=30.0, ge=0)


class RedisSettings(FunctionSettings):
    """`uses.redis`: the endpoint and, in AWS, the AUTH token's secret."""

    redis_url: str
    redis_auth_secret_id: str | None = None
    redis_socket_timeout_s: float = Field(default=2.0, gt=0)
    redis_secret_max_age_s: int = Field(default=300, ge=0)


class RateLimitSettings(RedisSettings):
    """HTTP routes behind the per-principal token bucket (`tradeplane.rate_limit`): Redis plus the limit.

    A function that sets its own `TP_RATE_LIMIT_PER_MINUTE` (manifest `environment`) should also set its
    own `TP_RATE_LIMIT_BUCKET`, so it does not share a bucket sized for another limit.
    """

    rate_limit_per_minute: int = Field(default=200, ge=1, le=1_000_000)
    rate_limit_bucket: str = Field(default="api", pattern=r"^[a-z][a-z0-9_-]{0,30}$")


class WebSocketSettings(FunctionSettings):
    """`uses.websocket`: the WebSocket API's management endpoint (PostToConnection) and bounded send times."""

    ws_endpoint: str
    ws_connect_timeout_s: float = Field(default=1.0, gt=0)
    ws_read_timeout_s: float = Field(default=2.0, gt=0)


class KafkaSettings(FunctionSettings):
    """`uses.produces` or a Kafka trigger: the bootstrap servers and how to authenticate."""

    kafka_bootstrap: str
    kafka_security: Literal["plaintext", "iam"] = "plaintext"
    kafka_max_message_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Topic -> the event field that is its partition key, for the topics the manifest lets it produce.
    kafka_produces: dict[str, str] | None = None


_UNIONS = (Union, types.UnionType)
_lock = threading.Lock()
_loaded: FunctionSettings | None = None  # the function's own model, once its handler loaded it
_standalone: dict[type[FunctionSettings], FunctionSettings] = {}  # scripts and tests without a handler


def _variable(model: type[FunctionSettings], field: str) -> str:
    info = model.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices) and alias.choices:
        return str(alias.choices[0])
    return f"TP_{field.upper()}"


def _describe(model: type[FunctionSettings], exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        variable = _variable(model, str(err["loc"][0])) if err["loc"] else "environment"
        problems.append(f"{variable} is not set" if err["type"] == "missing" else f"{variable}: {err['msg']}")
    return f"invalid configuration ({model.__name__}): " + "; ".join(problems)


def _from_environment(model: type[FunctionSettings]) -> dict[str, Any]:
    """The model's fields found in the environment (variable names are case-insensitive)."""
    environ = {name.upper(): value for name, value in os.environ.items()}
    values: dict[str, Any] = {}
    for field, info in model.model_fields.items():
        alias = info.validation_alias
        names = [str(c) for c in alias.choices] if isinstance(alias, AliasChoices) else [_variable(model, field)]
        found = next((environ[n.upper()] for n in names if n.upper() in environ), None)
        if found is not None:
            values[field] = _json_if_structured(info.annotation, found)
    return values


def _json_if_structured(annotation: Any, text: str) -> Any:
    """Dict and list fields arrive as JSON text (as pydantic-settings read them); scalars as they are."""
    kinds = {get_origin(a) or a for a in (get_args(annotation) if get_origin(annotation) in _UNIONS else (annotation,))}
    if kinds & {dict, list, tuple, set}:
        try:
            return json.loads(text)
        except ValueError:
            return text  # validation then names the variable and says what it expected
    return text


def _build(model: type[S]) -> S:
    try:
        return model.model_validate(_from_environment(model))
    except ValidationError as exc:
        raise ConfigurationError(_describe(model, exc)) from None


def load_settings(model: type[S]) -> S:
    """Validate the environment against the function's settings model and make it the container's settings."""
    global _loaded
    settings = _build(model)
    with _lock:
        _loaded = settings
    return settings


def settings_for(part: type[S]) -> S:
    """The container's settings viewed as `part` (e.g. `PostgresSettings` for the pool).

    Inside a function, the model its handler loaded must include `part`; outside one
    (scripts, tests) `part` is read from the environment on first use and kept.
    """
    loaded = _loaded
    if loaded is not None:
        if not isinstance(loaded, part):
            raise ConfigurationError(
                f"function {loaded.function or '?'}: its settings ({type(loaded).__name__}) do not include "
                f"{part.__name__}; declare the resource in the manifest's `uses` and in the settings model"
            )
        return loaded
    with _lock:
        found = _standalone.get(part)
        if found is None:
            found = _standalone[part] = _build(part)
    assert isinstance(found, part)
    return found


def reset_settings() -> None:
    """Forget loaded settings (tests, or a runner that changes the environment)."""
    global _loaded
    with _lock:
        _loaded = None
        _standalone.clear()


def env_key(name: str) -> str:
    """Logical name -> environment suffix: upper-cased, non-alphanumerics to `_` (`jwt-signing-keys` ->
    `JWT_SIGNING_KEYS`, read as `TP_SECRET_JWT_SIGNING_KEYS`)."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper())
