"""Runtime configuration: the only module that reads the process environment.

Every other module asks `get_settings()` (or the helpers below) for what it
needs, so a handler's configuration is one typed object, read once per
container. The variable names are the contract written by
`tradeplane_tools.manifest.environment_for`.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "ConfigurationError",
    "Settings",
    "bucket_name",
    "env_key",
    "get_settings",
    "require",
    "secret_id",
    "service_url",
]


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or invalid."""


class Settings(BaseSettings):
    """Typed view of the `TP_*` environment (plus AWS_REGION)."""

    model_config = SettingsConfigDict(env_prefix="TP_", extra="ignore", frozen=True, case_sensitive=False)

    stage: str = "local"
    function: str = ""

    db_dsn: str | None = None
    db_read_dsn: str | None = None
    db_secret_id: str | None = None
    # Pool sizing: one connection per Lambda container unless told otherwise.
    db_pool_min_size: int = Field(default=0, ge=0)
    db_pool_max_size: int = Field(default=1, ge=1)
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    db_connect_timeout_s: int = Field(default=5, ge=1)
    db_secret_max_age_s: int = Field(default=300, ge=0)

    redis_url: str | None = None
    redis_auth_secret_id: str | None = None
    redis_socket_timeout_s: float = Field(default=2.0, gt=0)

    kafka_bootstrap: str | None = None
    kafka_security: Literal["plaintext", "iam"] = "plaintext"
    kafka_max_message_bytes: int = Field(default=1024 * 1024, ge=1024)

    aws_region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION", "TP_AWS_REGION"),
    )

    @property
    def is_local(self) -> bool:
        return self.stage == "local"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings for this container (cached; tests call `get_settings.cache_clear()`)."""
    try:
        return Settings()
    except ValueError as exc:  # pydantic ValidationError is a ValueError
        raise ConfigurationError(f"invalid TP_* environment: {exc}") from exc


def env_key(name: str) -> str:
    """Logical name -> environment suffix: upper-cased, non-alphanumerics to `_` (as the manifest does)."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def require(value: str | None, variable: str) -> str:
    """Return `value`, or raise ConfigurationError naming the missing `variable`."""
    if not value:
        raise ConfigurationError(f"environment variable {variable} is not set")
    return value


def _lookup(prefix: str, logical: str, what: str) -> str:
    variable = f"{prefix}{env_key(logical)}"
    value = os.environ.get(variable)
    if not value:
        raise ConfigurationError(
            f"environment variable {variable} is not set (no {what} bound for {logical!r}; "
            "is it listed in the function's manifest entry?)"
        )
    return value


def secret_id(logical: str) -> str:
    """Secrets Manager id for the logical secret `logical` (from TP_SECRET_<NAME>)."""
    return _lookup("TP_SECRET_", logical, "secret")


def bucket_name(logical: str) -> str:
    """Bucket name for the logical bucket `logical` (from TP_BUCKET_<NAME>)."""
    return _lookup("TP_BUCKET_", logical, "bucket")


def service_url(component: str) -> str:
    """Base URL of another component's API (from TP_SERVICE_URL_<COMPONENT>), without trailing slash."""
    return _lookup("TP_SERVICE_URL_", component, "service URL").rstrip("/")
