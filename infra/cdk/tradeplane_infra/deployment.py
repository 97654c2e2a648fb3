"""What one deployment is: the manifest, the environment config, the built assets, names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tradeplane.manifest import FunctionSpec, KafkaTrigger, Manifest

from .assets import AssetIndex
from .config import EnvConfig

LAMBDA_NAME_MAX = 64


@dataclass(frozen=True)
class Deployment:
    manifest: Manifest
    manifest_path: Path
    config: EnvConfig
    assets: AssetIndex

    @property
    def prefix(self) -> str:
        return f"{self.manifest.project.name}-{self.config.stage}"

    @property
    def is_localstack(self) -> bool:
        return self.config.target == "localstack"

    def name(self, *parts: str) -> str:
        return "-".join((self.prefix, *parts))

    def function_name(self, fn: FunctionSpec) -> str:
        # Deterministic names: log groups, subscription permissions and alarms derive from them.
        name = self.name(fn.name.replace("_", "-"))
        if len(name) > LAMBDA_NAME_MAX:
            raise ValueError(f"function name {name!r} exceeds Lambda's {LAMBDA_NAME_MAX} characters")
        return name

    def log_group_name(self, fn: FunctionSpec) -> str:
        return f"/aws/lambda/{self.function_name(fn)}"

    def uses_kafka(self, fn: FunctionSpec) -> bool:
        return bool(fn.uses.produces or fn.triggers_of(KafkaTrigger))

    def in_vpc(self, fn: FunctionSpec) -> bool:
        """Only functions that reach Postgres, Redis or Kafka get ENIs (and their cold-start cost)."""
        if self.is_localstack:
            return False
        return bool(fn.uses.postgres or fn.uses.redis or self.uses_kafka(fn))
