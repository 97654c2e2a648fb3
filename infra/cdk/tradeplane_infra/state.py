"""State: the manifest's application secrets and buckets (both targets).

Kept apart from the service stack because their lifecycle is longer: redeploying
or deleting functions must never rotate a signing key or empty a bucket.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from .deployment import Deployment
from .nag import CDK_PROVIDER, IAM4_BASIC_EXECUTION, acknowledge


class StateStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, deployment: Deployment, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        d = deployment
        keep = d.config.retain_data
        removal = RemovalPolicy.RETAIN if keep else RemovalPolicy.DESTROY

        self.secrets: dict[str, sm.ISecret] = {}
        for name, spec in d.manifest.secrets.items():
            secret = sm.Secret(
                self,
                f"Secret-{name}",
                secret_name=f"{d.manifest.project.name}/{d.config.stage}/{name}",
                description=spec.description or f"Tradeplane secret {name}",
                removal_policy=removal,
            )
            acknowledge(
                secret,
                {
                    "AwsSolutions-SMG4": "application secret (e.g. a JWT keyset with kid) is rotated by "
                    "adding a new key and retiring the old one, which Secrets Manager's single-value "
                    "rotation cannot express; see docs/deploy.md"
                },
            )
            self.secrets[name] = secret

        self.access_logs: s3.Bucket | None = None
        self.buckets: dict[str, s3.IBucket] = {}
        if not d.manifest.buckets:
            return
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # ACLs off: S3 delivers access logs under a bucket policy (app.FEATURE_FLAGS).
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=removal,
            auto_delete_objects=not keep,
        )
        acknowledge(self.access_logs, {"AwsSolutions-S1": "this is the access-log bucket itself"})
        for name in d.manifest.buckets:
            self.buckets[name] = s3.Bucket(
                self,
                f"Bucket-{name}",
                bucket_name=d.bucket_name(name),
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                versioned=keep,
                server_access_logs_bucket=self.access_logs,
                server_access_logs_prefix=f"{name}/",
                removal_policy=removal,
                auto_delete_objects=not keep,
            )
        provider = self.node.try_find_child("Custom::S3AutoDeleteObjectsCustomResourceProvider")
        if provider is not None:  # exists only where buckets are auto-emptied (non-retained environments)
            acknowledge(provider, {IAM4_BASIC_EXECUTION: CDK_PROVIDER, "AwsSolutions-L1": CDK_PROVIDER})
