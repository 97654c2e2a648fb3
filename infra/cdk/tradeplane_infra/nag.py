"""cdk-nag (AwsSolutions pack, cdk-nag 3.x) and the one way this app acknowledges findings.

cdk-nag 3 runs as a CDK policy-validation plugin: an unacknowledged finding makes
`app.synth()` fail, so "synth passes" means "zero unacknowledged findings".
Every acknowledgment needs a reason; `acknowledge` refuses an empty one.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def enable(app: App) -> None:
    # write_suppressions_to_cloud_formation keeps the audit trail in the templates too.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))


def acknowledge(scope: IConstruct, reasons: dict[str, str]) -> None:
    """Acknowledge rule findings (`AwsSolutions-XX` or `AwsSolutions-XX[finding]`) on scope and children."""
    for rule, reason in reasons.items():
        if not reason.strip():
            raise ValueError(f"acknowledging {rule} needs a reason")
        Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


# Reasons shared by several constructs, so one justification reads the same everywhere.
WILDCARD_ENI = (
    "ec2 ENI create/describe/delete for VPC Lambdas and Kafka pollers has no resource-level "
    "scoping for Describe*; no data resource is covered by this wildcard"
)
WILDCARD_XRAY = "X-Ray PutTraceSegments/PutTelemetryRecords support only Resource '*'"
RUNTIME_PINNED = (
    "the runtime is pinned by the function manifest ([project].runtime) so layers and wheels match it; "
    "upgrades are a manifest change, not a drift"
)
IAM4_BASIC_EXECUTION = (
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"
)
CDK_PROVIDER = (
    "CDK-managed singleton provider Lambda (custom resource framework); its runtime, role and "
    "policies are owned by aws-cdk-lib"
)
