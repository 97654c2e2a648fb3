"""The data stores the functions reach, as the service stack sees them, for either target.

AWS: RDS (+proxy, replica), ElastiCache and MSK in their own stacks (their lifecycle
is longer than the functions'). LocalStack: the compose Postgres/Redis/Redpanda
endpoints from config, because MSK, RDS and ElastiCache are paid LocalStack features.
Both produce one `Backends`, so the service stack has a single code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from .cache import Cache
from .database import PROXY_PORT, Database
from .deployment import Deployment
from .network import NetworkStack
from .streaming import KafkaCluster


@dataclass
class Backends:
    db_dsn: str | None = None
    db_read_dsn: str | None = None
    db_secret: sm.ISecret | None = None
    redis_url: str | None = None
    redis_auth_secret: sm.ISecret | None = None
    kafka_bootstrap: str | None = None
    kafka_security: str = "plaintext"
    kafka: KafkaCluster | None = None  # MSK (IAM); None = self-managed Kafka (LocalStack)
    vpc: ec2.IVpc | None = None
    subnets: ec2.SubnetSelection | None = None
    lambda_sg: ec2.ISecurityGroup | None = None
    secrets: dict[str, sm.ISecret] = field(default_factory=dict)
    buckets: dict[str, s3.IBucket] = field(default_factory=dict)


class DataStack(Stack):
    """RDS PostgreSQL (+ proxy, replica) and ElastiCache."""

    def __init__(
        self, scope: Construct, construct_id: str, *, deployment: Deployment, network: NetworkStack, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        cfg = deployment.config
        vpc, subnets, clients = network.vpc, network.private_subnets, network.lambda_sg
        self.database = Database(
            self,
            "Postgres",
            vpc=vpc,
            subnets=subnets,
            clients=clients,
            config=cfg.database,
            retain=cfg.retain_data,
            name_prefix=deployment.prefix,
        )
        self.cache = Cache(
            self, "Redis", vpc=vpc, subnets=subnets, clients=clients, config=cfg.cache, name_prefix=deployment.prefix
        )


class StreamingStack(Stack):
    """MSK and its topics."""

    def __init__(
        self, scope: Construct, construct_id: str, *, deployment: Deployment, network: NetworkStack, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.kafka = KafkaCluster(
            self,
            "Kafka",
            vpc=network.vpc,
            subnets=network.private_subnets,
            clients=network.lambda_sg,
            config=deployment.config.kafka,
            manifest=deployment.manifest,
            cluster_name=deployment.prefix,
            log_retention_days=deployment.config.functions.log_retention_days,
        )


def aws_backends(deployment: Deployment, network: NetworkStack, data: DataStack, streaming: StreamingStack) -> Backends:
    db, cfg = data.database, deployment.config.database
    return Backends(
        db_dsn=db.dsn(db.proxy.endpoint, PROXY_PORT, cfg),
        db_read_dsn=db.dsn(db.replica.db_instance_endpoint_address, cfg.port, cfg) if db.replica else None,
        db_secret=db.secret,
        redis_url=data.cache.url,
        redis_auth_secret=data.cache.auth_secret,
        kafka_bootstrap=streaming.kafka.bootstrap,
        kafka_security="iam",
        kafka=streaming.kafka,
        vpc=network.vpc,
        subnets=network.private_subnets,
        lambda_sg=network.lambda_sg,
    )


def localstack_backends(deployment: Deployment) -> Backends:
    ls = deployment.config.localstack
    return Backends(
        db_dsn=ls.db_dsn,
        db_read_dsn=ls.db_read_dsn,
        redis_url=ls.redis_url,
        kafka_bootstrap=ls.kafka_bootstrap,
        kafka_security="plaintext",
    )
