"""What one deployment is: the manifest, the environment config, the built assets, names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Aws
from aws_cdk import aws_logs as logs
from tradeplane_tools.manifest import FunctionSpec, KafkaTrigger, Manifest
from tradeplane_tools.wiring import Wiring, wiring

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
    def wiring(self) -> Wiring:
        """The rules the local runtime applies too (topics, event sources, schedules, log subscriptions)."""
        return wiring(self.manifest)

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

    def bucket_name(self, bucket: str) -> str:
        """Deterministic (account and region make it global), so other stacks need no export."""
        worst = f"{self.prefix}-{bucket}-123456789012-ap-southeast-7"
        if len(worst) > 63:
            raise ValueError(f"bucket name for {bucket!r} can exceed S3's 63 characters: {worst}")
        return f"{self.prefix}-{bucket}-{Aws.ACCOUNT_ID}-{Aws.REGION}"

    def uses_kafka(self, fn: FunctionSpec) -> bool:
        return bool(fn.uses.produces or fn.triggers_of(KafkaTrigger))

    def in_vpc(self, fn: FunctionSpec) -> bool:
        """Only functions that reach Postgres, Redis or Kafka get ENIs (and their cold-start cost)."""
        if self.is_localstack:
            return False
        return bool(fn.uses.postgres or fn.uses.redis or self.uses_kafka(fn))


_RETENTION = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
}


def retention(days: int) -> logs.RetentionDays:
    """CloudWatch accepts only fixed retention periods; config gives days."""
    if days not in _RETENTION:
        raise ValueError(f"log retention {days} days is not one CloudWatch offers: {sorted(_RETENTION)}")
    return logs.RetentionDays[_RETENTION[days]]
