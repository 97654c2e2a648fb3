"""PostgreSQL 16 on RDS: encrypted, secret with rotation, RDS Proxy, optional read replica.

Functions authenticate to the proxy with the database secret (TP_DB_SECRET_ID), not
IAM tokens: the shared layer's settings read the password from that secret, and the
proxy follows its rotation. RDS Proxy has no read-only endpoint for RDS (non-Aurora)
replicas, so TP_DB_READ_DSN points at the replica directly; the replica tolerates
lag by contract (docs/architecture.md) and sees few connections (health and read routes only).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from .config import DatabaseConfig
from .nag import acknowledge

PROXY_PORT = 5432  # RDS Proxy always listens on the engine's default port


def _instance_type(name: str) -> ec2.InstanceType:
    return ec2.InstanceType(name)


def postgres_version(full: str) -> rds.PostgresEngineVersion:
    """aws-cdk-lib's constant for a full version: it carries the parameter group family and S3 features.

    A pinned minor, not a bare major: for "16" RDS picks its default minor, which cfn-lint
    (W3691) reports as deprecated and not creatable for new instances.
    """
    constant = getattr(rds.PostgresEngineVersion, "VER_" + full.replace(".", "_"), None)
    if "." not in full or not isinstance(constant, rds.PostgresEngineVersion):
        raise ValueError(f"database.engine_version {full!r}: not a PostgreSQL minor version aws-cdk-lib knows")
    return constant


class Database(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        clients: ec2.ISecurityGroup,
        config: DatabaseConfig,
        retain: bool,
        name_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        engine = rds.DatabaseInstanceEngine.postgres(version=postgres_version(config.engine_version))
        self.sg = ec2.SecurityGroup(self, "Sg", vpc=vpc, description="PostgreSQL", allow_all_outbound=False)
        self.secret = rds.DatabaseSecret(self, "Secret", username=config.username, secret_name=f"{name_prefix}/db")
        removal = RemovalPolicy.SNAPSHOT if retain else RemovalPolicy.DESTROY
        self.instance = rds.DatabaseInstance(
            self,
            "Primary",
            engine=engine,
            instance_type=_instance_type(config.instance_class),
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.sg],
            credentials=rds.Credentials.from_secret(self.secret),
            database_name=config.database_name,
            port=config.port,
            storage_encrypted=True,
            allocated_storage=config.allocated_storage_gb,
            max_allocated_storage=config.max_allocated_storage_gb,
            storage_type=rds.StorageType.GP3,
            multi_az=config.multi_az,
            backup_retention=Duration.days(config.backup_retention_days),
            deletion_protection=config.deletion_protection,
            iam_authentication=True,
            enable_performance_insights=False,
            cloudwatch_logs_exports=["postgresql", "upgrade"],
            auto_minor_version_upgrade=True,
            removal_policy=removal,
            parameter_group=rds.ParameterGroup(
                self,
                "Params",
                engine=engine,
                parameters={"rds.force_ssl": "1"},  # TLS only
            ),
        )
        self.rotation = self.instance.add_rotation_single_user(automatically_after=Duration.days(config.rotation_days))

        proxy_sg = ec2.SecurityGroup(self, "ProxySg", vpc=vpc, description="RDS Proxy", allow_all_outbound=False)
        proxy_sg.add_ingress_rule(clients, ec2.Port.tcp(PROXY_PORT), "PostgreSQL from Lambda functions")
        proxy_sg.add_egress_rule(self.sg, ec2.Port.tcp(config.port), "to the database")
        self.sg.add_ingress_rule(proxy_sg, ec2.Port.tcp(config.port), "from RDS Proxy")
        self.proxy = self.instance.add_proxy(
            "Proxy",
            secrets=[self.secret],
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[proxy_sg],
            require_tls=True,
            iam_auth=False,
            debug_logging=False,
        )
        acknowledge(
            self.proxy,
            {"CloudFormation-Validate::F3002": "aws-cdk-lib propagates stack tags to the proxy target group"},
        )

        self.replica: rds.DatabaseInstanceReadReplica | None = None
        if config.read_replica:
            self.replica = rds.DatabaseInstanceReadReplica(
                self,
                "Replica",
                source_database_instance=self.instance,
                instance_type=_instance_type(config.replica_instance_class),
                vpc=vpc,
                vpc_subnets=subnets,
                security_groups=[self.sg],
                # No storage_encrypted: a replica inherits encryption from its source, and
                # CloudFormation refuses StorageEncrypted with SourceDBInstanceIdentifier (cfn-lint E3020).
                port=config.port,
                deletion_protection=config.deletion_protection,
                removal_policy=RemovalPolicy.DESTROY,  # a replica is rebuilt from the primary
                auto_minor_version_upgrade=True,
                cloudwatch_logs_exports=["postgresql"],
            )
            # Replica queries come straight from functions (no proxy for RDS replicas).
            self.sg.add_ingress_rule(clients, ec2.Port.tcp(config.port), "read replica from Lambda functions")
            acknowledge(
                self.replica,
                {
                    "AwsSolutions-RDS3": "a read replica is a single-AZ copy by design; the primary carries Multi-AZ",
                    "AwsSolutions-RDS2": "a replica inherits storage encryption from its encrypted primary; "
                    "CloudFormation refuses StorageEncrypted next to SourceDBInstanceIdentifier",
                    "AwsSolutions-RDS11": f"the replica listens on the primary's non-default port ({config.port}); "
                    "cdk-nag cannot see a replica's engine default",
                },
            )

        if not config.multi_az:
            acknowledge(
                self.instance,
                {"AwsSolutions-RDS3": "Multi-AZ is a config toggle (database.multi_az): dev off, prod on"},
            )
        if not config.deletion_protection:
            for instance in (self.instance, self.replica):
                if instance is not None:
                    acknowledge(
                        instance, {"AwsSolutions-RDS10": "deletion protection is a config toggle: dev off, prod on"}
                    )

    def dsn(self, host: str, port: int | str, config: DatabaseConfig) -> str:
        """Host-only DSN: the password comes from the secret at run time."""
        return f"postgresql://{config.username}@{host}:{port}/{config.database_name}?sslmode=require"

    @property
    def secret_ref(self) -> sm.ISecret:
        return self.secret
