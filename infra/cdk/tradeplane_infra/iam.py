"""Least-privilege statements for one function, derived only from its manifest `uses` and triggers.

No statement here uses a `*` action, and data resources are named exactly (secret
ARNs, one bucket, topic/group ARNs). The only `Resource: *` statements are ENI
management for VPC functions (EC2 has no resource scoping for Describe*) and X-Ray.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from tradeplane_tools.manifest import FunctionSpec, KafkaTrigger, secret_prefix

from .backends import Backends
from .deployment import Deployment

SECRET_READ = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
BUCKET_ACTIONS = {
    "read": (["s3:ListBucket"], ["s3:GetObject"]),
    "write": ([], ["s3:PutObject", "s3:AbortMultipartUpload"]),
    "readwrite": (["s3:ListBucket"], ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]),
}
VPC_ENI = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcs",
]


def object_wildcard_findings(d: Deployment, fn: FunctionSpec) -> dict[str, str]:
    """cdk-nag IAM5 finding ids for the wildcards `statements_for` grants (names are deterministic).

    `<bucket>/*` object ARNs, and secret prefixes (one secret per account under a named family).
    """
    bucket_arn = "arn:<AWS::Partition>:s3:::{}-{}-<AWS::AccountId>-<AWS::Region>/*"
    family_arn = "arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:{}*"
    buckets = {
        f"AwsSolutions-IAM5[Resource::{bucket_arn.format(d.prefix, name)}]": (
            f"object-level {mode} on the one bucket {name!r} the manifest grants; S3 object ARNs need a key pattern"
        )
        for name, mode in fn.uses.buckets.items()
    }
    secrets = {
        f"AwsSolutions-IAM5[Resource::{family_arn.format(secret_prefix(d.manifest, d.config.stage, p))}]": (
            f"read on the {p!r} secret family the manifest grants: one secret per account, named at run time"
        )
        for p in fn.uses.secret_prefixes
    }
    return {**buckets, **secrets}


def _allow(sid: str, actions: list[str], resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=sid, actions=sorted(set(actions)), resources=resources)


def _prefix_arns(d: Deployment, fn: FunctionSpec, stack: Stack) -> list[str]:
    return [
        stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{secret_prefix(d.manifest, d.config.stage, p)}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for p in fn.uses.secret_prefixes
    ]


def _secret_statements(d: Deployment, fn: FunctionSpec, backends: Backends, stack: Stack) -> list[iam.PolicyStatement]:
    u, out = fn.uses, []
    secret_arns = [backends.secrets[name].secret_arn for name in u.secrets]
    if u.postgres and backends.db_secret:
        secret_arns.append(backends.db_secret.secret_arn)
    if u.redis and backends.redis_auth_secret:
        secret_arns.append(backends.redis_auth_secret.secret_arn)
    if secret_arns:
        out.append(_allow("ReadSecrets", SECRET_READ, secret_arns))
    if u.secret_prefixes:  # families named at run time (one secret per account): the prefix, nothing wider
        out.append(_allow("ReadSecretPrefixes", SECRET_READ, _prefix_arns(d, fn, stack)))
    return out


def function_arn(d: Deployment, name: str, stack: Stack) -> str:
    """A manifest function's ARN from its deterministic name (no reference to the function: no cycle)."""
    return stack.format_arn(
        service="lambda",
        resource="function",
        resource_name=d.function_name(d.manifest.function(name)),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def state_machine_arn(d: Deployment, name: str, stack: Stack) -> str:
    """A manifest state machine's ARN from its deterministic name."""
    return stack.format_arn(
        service="states", resource="stateMachine", resource_name=d.name(name), arn_format=ArnFormat.COLON_RESOURCE_NAME
    )


def _handoff_statements(d: Deployment, fn: FunctionSpec, stack: Stack) -> list[iam.PolicyStatement]:
    """`uses.invokes`: invoke exactly those functions; `uses.starts`: start exactly those state machines."""
    out = []
    if fn.uses.invokes:
        out.append(
            _allow("InvokeFunctions", ["lambda:InvokeFunction"], [function_arn(d, f, stack) for f in fn.uses.invokes])
        )
    if fn.uses.starts:
        out.append(
            _allow(
                "StartExecutions", ["states:StartExecution"], [state_machine_arn(d, s, stack) for s in fn.uses.starts]
            )
        )
    return out


def statements_for(
    d: Deployment, fn: FunctionSpec, backends: Backends, log_group: logs.ILogGroup
) -> list[iam.PolicyStatement]:
    u = fn.uses
    out = [_allow("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], [log_group.log_group_arn])]
    if d.in_vpc(fn):
        out.append(_allow("VpcEni", VPC_ENI, ["*"]))

    out += _secret_statements(d, fn, backends, Stack.of(log_group))
    out += _handoff_statements(d, fn, Stack.of(log_group))

    for i, (name, mode) in enumerate(sorted(u.buckets.items())):
        bucket = backends.buckets[name]
        bucket_actions, object_actions = BUCKET_ACTIONS[mode]
        if bucket_actions:
            out.append(_allow(f"Bucket{i}", bucket_actions, [bucket.bucket_arn]))
        out.append(_allow(f"Objects{i}", object_actions, [bucket.arn_for_objects("*")]))

    kafka = backends.kafka
    consumers = fn.triggers_of(KafkaTrigger)
    if kafka is not None and (u.produces or consumers):
        cluster_actions = ["kafka-cluster:Connect"]
        if u.produces:
            cluster_actions.append("kafka-cluster:WriteDataIdempotently")
            produce = [kafka.topic_arn(t) for t in u.produces]
            out.append(_allow("KafkaProduce", ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"], produce))
        if consumers:
            # What the event source mapping's pollers do with the function's role.
            cluster_actions.append("kafka-cluster:DescribeClusterDynamicConfiguration")
            out.append(
                _allow("KafkaCluster", ["kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"], [kafka.cluster_arn])
            )
            topics = sorted({t.topic for t in consumers})
            groups = sorted({t.group for t in consumers})
            dead = sorted({fn.dead_letter_topic(t) for t in consumers})
            out.append(
                _allow(
                    "KafkaConsume",
                    ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
                    [kafka.topic_arn(t) for t in topics],
                )
            )
            out.append(
                _allow(
                    "KafkaGroups",
                    ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"],
                    [kafka.group_arn(g) for g in groups],
                )
            )
            out.append(
                _allow(
                    "KafkaDeadLetters",
                    ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
                    [kafka.topic_arn(t) for t in dead],
                )
            )
        out.insert(1, _allow("KafkaConnect", cluster_actions, [kafka.cluster_arn]))
    return out
