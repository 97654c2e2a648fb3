"""Build the whole CDK app from context: which manifest, environment, target and assets.

Context keys (all optional):
  env=dev|prod|localstack     config file under infra/cdk/config/ (default: dev, or
                              localstack when target=localstack)
  target=aws|localstack       overrides the config's target
  manifest=PATH               function manifest (default functions/manifest.toml)
  asset_dir=PATH              built assets (default build/lambda)
  assets=placeholder          synthesize the template without built assets (never deploy)
  tp:<dotted.config.path>=V   any config value, e.g. tp:api.allowlist_cidrs=203.0.113.0/24
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Stack, Tags
from pydantic import BaseModel
from tradeplane_tools.manifest import DEFAULT_MANIFEST, load_manifest

from . import nag
from .assets import DEFAULT_OUT, AssetIndex
from .backends import DataStack, StreamingStack, aws_backends, localstack_backends
from .config import OVERRIDE_PREFIX, EnvConfig, load_config
from .deployment import Deployment
from .network import NetworkStack
from .service import ServiceStack
from .state import StateStack

# Set in code rather than cdk.json: `make synth` and the tests run app.py without the CDK
# CLI, which is what reads cdk.json, so flags there would not shape the linted templates.
FEATURE_FLAGS: dict[str, object] = {
    # Access-log delivery under a bucket policy instead of the legacy LogDeliveryWrite ACL
    # (cfn-lint W3045), which lets the log bucket disable ACLs (BucketOwnerEnforced).
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}


@dataclass
class Stacks:
    deployment: Deployment
    service: ServiceStack
    state: StateStack
    network: NetworkStack | None = None
    data: DataStack | None = None
    streaming: StreamingStack | None = None

    def all(self) -> list[Stack]:
        return [s for s in (self.network, self.data, self.streaming, self.state, self.service) if s is not None]


def deployment_from_context(app: App) -> Deployment:
    ctx: dict[str, Any] = {}
    for key in ("env", "target", "manifest", "asset_dir", "assets"):
        value = app.node.try_get_context(key)
        if value is not None:
            ctx[key] = value
    target = ctx.get("target")
    env = ctx.get("env") or ("localstack" if target == "localstack" else "dev")
    overrides = _overrides(app)
    if target:
        overrides["tp:target"] = target
    config = load_config(env, overrides)
    manifest_path = Path(ctx.get("manifest", DEFAULT_MANIFEST)).resolve()
    placeholder = ctx.get("assets") == "placeholder"
    manifest = load_manifest(manifest_path, check_files=not placeholder)
    assets = (
        AssetIndex.placeholders(manifest)
        if placeholder
        else AssetIndex.load(Path(ctx.get("asset_dir", DEFAULT_OUT)).resolve(), manifest_path)
    )
    return Deployment(manifest=manifest, manifest_path=manifest_path, config=config, assets=assets)


def _overrides(app: App) -> dict[str, Any]:
    """`tp:<dotted.path>` context values; CDK's Python API cannot list context keys, so ask for each known one."""
    found = {key: app.node.try_get_context(key) for key in _override_keys(EnvConfig, "")}
    return {k: v for k, v in found.items() if v is not None}


def _override_keys(model: type[BaseModel], prefix: str) -> list[str]:
    keys: list[str] = []
    for name, info in model.model_fields.items():
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            keys += _override_keys(nested, f"{prefix}{name}.")
        else:
            keys.append(f"{OVERRIDE_PREFIX}{prefix}{name}")
    return keys


def build(app: App) -> Stacks:
    for flag, value in FEATURE_FLAGS.items():
        app.node.set_context(flag, value)  # before any construct is added, as CDK requires
    d = deployment_from_context(app)
    cfg = d.config
    env = Environment(account=cfg.account, region=cfg.region) if cfg.account or cfg.region else None
    nag.enable(app)

    def stack_id(part: str) -> str:
        return d.name(part)

    state = StateStack(app, stack_id("state"), deployment=d, env=env)
    if d.is_localstack:
        service = ServiceStack(
            app, stack_id("service"), deployment=d, backends=localstack_backends(d), state=state, env=env
        )
        stacks = Stacks(deployment=d, service=service, state=state)
    else:
        network = NetworkStack(app, stack_id("network"), config=cfg, env=env)
        data = DataStack(app, stack_id("data"), deployment=d, network=network, env=env)
        streaming = StreamingStack(app, stack_id("streaming"), deployment=d, network=network, env=env)
        backends = aws_backends(d, network, data, streaming)
        service = ServiceStack(app, stack_id("service"), deployment=d, backends=backends, state=state, env=env)
        stacks = Stacks(deployment=d, service=service, state=state, network=network, data=data, streaming=streaming)
    for stack in stacks.all():
        Tags.of(stack).add("project", d.manifest.project.name)
        Tags.of(stack).add("stage", cfg.stage)
    return stacks
