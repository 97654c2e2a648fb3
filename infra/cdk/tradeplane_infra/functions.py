"""Every manifest function: its own role, log group, layers, environment and sizing.

Nothing is per function in code: each value comes from the manifest (through the
`Manifest` helpers and `environment_for`) or from the environment config.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from tradeplane_tools.manifest import Bindings, FunctionSpec, environment_for

from .backends import Backends
from .deployment import Deployment, retention
from .iam import object_wildcard_findings, state_machine_arn, statements_for
from .nag import RUNTIME_PINNED, WILDCARD_ENI, WILDCARD_XRAY, acknowledge


def bindings_for(
    d: Deployment, b: Backends, service_urls: dict[str, str], stack: Stack, websocket_endpoint: str | None = None
) -> Bindings:
    """Where resources are, as CDK tokens; `environment_for` turns them into TP_* variables."""
    m = d.manifest
    return Bindings(
        stage=d.config.stage,
        db_dsn=b.db_dsn,
        db_read_dsn=b.db_read_dsn,
        db_secret=b.db_secret.secret_arn if b.db_secret else None,
        redis_url=b.redis_url,
        redis_auth_secret=b.redis_auth_secret.secret_arn if b.redis_auth_secret else None,
        kafka_bootstrap=b.kafka_bootstrap,
        kafka_security="iam" if b.kafka_security == "iam" else "plaintext",
        secret_ids={name: secret.secret_arn for name, secret in b.secrets.items()},
        bucket_names={name: bucket.bucket_name for name, bucket in b.buckets.items()},
        service_urls=service_urls,
        websocket_endpoint=websocket_endpoint,
        function_names={
            name: d.function_name(m.function(name)) for fn in m.functions.values() for name in fn.uses.invokes
        },
        state_machine_arns={name: state_machine_arn(d, name, stack) for name in m.state_machines},
    )


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        deployment: Deployment,
        backends: Backends,
        service_urls: dict[str, str],
        websocket_endpoint: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        d, m = deployment, deployment.manifest
        self.runtime = lambda_.Runtime(m.project.runtime, lambda_.RuntimeFamily.PYTHON)
        self.architecture = (
            lambda_.Architecture.ARM_64 if m.project.architecture == "arm64" else lambda_.Architecture.X86_64
        )
        bindings = bindings_for(d, backends, service_urls, Stack.of(self), websocket_endpoint)

        used = {layer for fn in m.functions.values() for layer in m.layers_of(fn)}
        self.layers: dict[str, lambda_.LayerVersion] = {
            name: lambda_.LayerVersion(
                self,
                f"Layer-{name}",
                code=lambda_.Code.from_asset(str(d.assets.layer_dir(name))),
                compatible_runtimes=[self.runtime],
                compatible_architectures=[self.architecture],
                description=(spec.description or name)[:256],
                removal_policy=RemovalPolicy.RETAIN,  # old versions stay for functions mid-update
            )
            for name, spec in m.layers.items()
            if name in used
        }
        self.functions: dict[str, lambda_.Function] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        for fn in m.functions.values():
            self._function(d, fn, backends, bindings)

    def _function(self, d: Deployment, fn: FunctionSpec, backends: Backends, bindings: Bindings) -> None:
        m, cfg = d.manifest, d.config
        log_group = logs.LogGroup(
            self,
            f"Logs-{fn.name}",
            log_group_name=d.log_group_name(fn),
            retention=retention(cfg.functions.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"Role-{fn.name}",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Tradeplane {fn.name}: only what its manifest `uses` and triggers need",
        )
        for statement in statements_for(d, fn, backends, log_group):
            role.add_to_policy(statement)
        acknowledge(role, object_wildcard_findings(d, fn))

        vpc_args: dict[str, object] = {}
        wildcard_reasons = []
        if d.in_vpc(fn) and backends.vpc is not None and backends.lambda_sg is not None:
            vpc_args = {"vpc": backends.vpc, "vpc_subnets": backends.subnets, "security_groups": [backends.lambda_sg]}
            wildcard_reasons.append(WILDCARD_ENI)
        tracing = cfg.functions.tracing
        if tracing:
            wildcard_reasons.append(WILDCARD_XRAY)
        if wildcard_reasons:
            acknowledge(role, {"AwsSolutions-IAM5[Resource::*]": "; ".join(wildcard_reasons)})

        function = lambda_.Function(
            self,
            f"Fn-{fn.name}",
            function_name=d.function_name(fn),
            description=(fn.description or fn.name)[:256],
            runtime=self.runtime,
            architecture=self.architecture,
            handler=fn.lambda_handler,
            code=lambda_.Code.from_asset(str(d.assets.function_dir(fn.name))),
            layers=[self.layers[name] for name in m.layers_of(fn)],
            memory_size=m.memory_of(fn),
            timeout=Duration.seconds(m.timeout_of(fn)),
            reserved_concurrent_executions=fn.reserved_concurrency,
            environment=environment_for(m, fn, bindings),
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE if tracing else lambda_.Tracing.DISABLED,
            **vpc_args,  # type: ignore[arg-type]
        )
        acknowledge(function, {"AwsSolutions-L1": RUNTIME_PINNED})
        self.functions[fn.name] = function
        self.log_groups[fn.name] = log_group
