"""ElastiCache (Valkey by default): in-transit and at-rest encryption, AUTH token from a secret.

There is no L2 construct for replication groups, so this is the L1 resource. Redis
is a cache here (docs/architecture.md): losing it loses no order, so dev runs one node.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as ec
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from .config import CacheConfig
from .nag import acknowledge


class Cache(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        clients: ec2.ISecurityGroup,
        config: CacheConfig,
        name_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.port = config.port
        self.sg = ec2.SecurityGroup(self, "Sg", vpc=vpc, description="Redis/Valkey", allow_all_outbound=False)
        self.sg.add_ingress_rule(clients, ec2.Port.tcp(config.port), "Redis from Lambda functions")
        self.auth_secret = sm.Secret(
            self,
            "AuthToken",
            secret_name=f"{name_prefix}/redis-auth",
            description="ElastiCache AUTH token (TP_REDIS_AUTH_SECRET_ID)",
            # AUTH tokens: 16-128 printable characters without @, ", /.
            generate_secret_string=sm.SecretStringGenerator(
                password_length=64, exclude_punctuation=True, include_space=False
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.auth_secret,
            {
                "AwsSolutions-SMG4": "ElastiCache AUTH rotation needs a ModifyReplicationGroup "
                "ROTATE step that Secrets Manager hosted rotation does not provide; rotate per "
                "docs/deploy.md"
            },
        )
        subnet_group = ec.CfnSubnetGroup(
            self,
            "Subnets",
            description="Tradeplane cache subnets",
            subnet_ids=vpc.select_subnets(
                subnet_type=subnets.subnet_type, availability_zones=subnets.availability_zones
            ).subnet_ids,
        )
        self.group = ec.CfnReplicationGroup(
            self,
            "Group",
            replication_group_description=f"{name_prefix} cache",
            engine=config.engine,
            engine_version=config.engine_version,
            cache_node_type=config.node_type,
            num_node_groups=1,
            replicas_per_node_group=config.replicas,
            automatic_failover_enabled=config.replicas > 0,
            multi_az_enabled=config.replicas > 0,
            port=config.port,
            cache_subnet_group_name=subnet_group.ref,
            security_group_ids=[self.sg.security_group_id],
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            at_rest_encryption_enabled=True,
            auth_token=self.auth_secret.secret_value.unsafe_unwrap(),  # a dynamic reference, not the value
            snapshot_retention_limit=1,
        )
        if config.replicas == 0:
            acknowledge(
                self.group,
                {
                    "AwsSolutions-AEC4": "dev runs a single cache node: Redis holds only rebuildable "
                    "cache state (docs/architecture.md); replicas is a config toggle, on in prod"
                },
            )

    @property
    def url(self) -> str:
        host = self.group.attr_primary_end_point_address
        return f"rediss://{host}:{Token.as_string(self.port)}/0"
