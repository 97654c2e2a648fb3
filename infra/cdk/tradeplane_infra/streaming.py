"""MSK provisioned cluster with IAM auth, and every manifest topic as AWS::MSK::Topic.

Provisioned over Serverless: MSK Serverless bills a cluster-hour floor (~USD 550/month)
before any traffic, while two kafka.t3.small brokers cost ~USD 70/month; both support
IAM auth, which is all the functions use. Topics are native `AWS::MSK::Topic`
resources (no custom resource Lambda in the VPC): CloudFormation creates them,
grows their partitions when the manifest does, and the cluster disables
auto-creation so a typo cannot create a topic.
"""

from __future__ import annotations

import base64

from aws_cdk import Fn, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_msk as msk
from aws_cdk import custom_resources as cr
from constructs import Construct
from tradeplane_tools.manifest import Manifest
from tradeplane_tools.wiring import TopicRule, wiring

from .config import KafkaConfig
from .deployment import retention
from .nag import CDK_PROVIDER, IAM4_BASIC_EXECUTION, acknowledge

IAM_PORT = 9098  # MSK's SASL/IAM TLS listener inside the VPC


def topic_configs(rule: TopicRule) -> str:
    """The topic's configuration as MSK takes it: base64 of server.properties lines (the same values
    the local runtime gives Kafka's admin API)."""
    return base64.b64encode("\n".join(f"{k}={v}" for k, v in rule.config.items()).encode()).decode()


class KafkaCluster(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        clients: ec2.ISecurityGroup,
        config: KafkaConfig,
        manifest: Manifest,
        cluster_name: str,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster_name = cluster_name
        self.sg = ec2.SecurityGroup(self, "Sg", vpc=vpc, description="MSK brokers", allow_all_outbound=False)
        self.sg.add_ingress_rule(clients, ec2.Port.tcp(IAM_PORT), "Kafka (IAM/TLS) from Lambda functions")
        self.sg.add_ingress_rule(self.sg, ec2.Port.all_tcp(), "broker to broker")

        server_properties = "\n".join(
            [
                "auto.create.topics.enable=false",
                f"log.retention.hours={config.default_retention_hours}",
                f"default.replication.factor={min(3, config.brokers)}",
                f"min.insync.replicas={min(2, config.brokers)}",
            ]
        )
        configuration = msk.CfnConfiguration(
            self,
            "Config",
            name=f"{cluster_name}-config",
            server_properties=server_properties,
            kafka_versions_list=[config.kafka_version],
        )
        broker_logs = logs.LogGroup(
            self, "BrokerLogs", retention=retention(log_retention_days), removal_policy=RemovalPolicy.DESTROY
        )
        subnet_ids = vpc.select_subnets(subnet_type=subnets.subnet_type).subnet_ids
        self.cluster = msk.CfnCluster(
            self,
            "Cluster",
            cluster_name=cluster_name,
            kafka_version=config.kafka_version,
            number_of_broker_nodes=config.brokers,
            broker_node_group_info=msk.CfnCluster.BrokerNodeGroupInfoProperty(
                instance_type=config.broker_instance_type,
                client_subnets=subnet_ids,
                security_groups=[self.sg.security_group_id],
                storage_info=msk.CfnCluster.StorageInfoProperty(
                    ebs_storage_info=msk.CfnCluster.EBSStorageInfoProperty(volume_size=config.volume_gb)
                ),
            ),
            client_authentication=msk.CfnCluster.ClientAuthenticationProperty(
                sasl=msk.CfnCluster.SaslProperty(iam=msk.CfnCluster.IamProperty(enabled=True)),
                unauthenticated=msk.CfnCluster.UnauthenticatedProperty(enabled=False),
            ),
            encryption_info=msk.CfnCluster.EncryptionInfoProperty(
                encryption_in_transit=msk.CfnCluster.EncryptionInTransitProperty(client_broker="TLS", in_cluster=True)
            ),
            configuration_info=msk.CfnCluster.ConfigurationInfoProperty(arn=configuration.attr_arn, revision=1),
            logging_info=msk.CfnCluster.LoggingInfoProperty(
                broker_logs=msk.CfnCluster.BrokerLogsProperty(
                    cloud_watch_logs=msk.CfnCluster.CloudWatchLogsProperty(
                        enabled=True, log_group=broker_logs.log_group_name
                    )
                )
            ),
            enhanced_monitoring="DEFAULT",  # consumer lag (SumOffsetLag) is published at DEFAULT
        )
        self.cluster_arn = self.cluster.attr_arn

        replication = min(3, config.brokers)
        self.topics: dict[str, msk.CfnTopic] = {}
        for name, rule in wiring(manifest).topics.items():
            topic = msk.CfnTopic(
                self,
                f"Topic-{name}",
                cluster_arn=self.cluster_arn,
                topic_name=name,
                partition_count=rule.partitions,
                replication_factor=replication,
                configs=topic_configs(rule),
            )
            self.topics[name] = topic

        # CfnCluster does not return bootstrap brokers; ask the API once per deploy.
        brokers = cr.AwsCustomResource(
            self,
            "Bootstrap",
            on_update=cr.AwsSdkCall(
                service="Kafka",
                action="getBootstrapBrokers",
                parameters={"ClusterArn": self.cluster_arn},
                physical_resource_id=cr.PhysicalResourceId.of(f"{cluster_name}-bootstrap"),
                output_paths=["BootstrapBrokerStringSaslIam"],
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[self.cluster_arn]),
            install_latest_aws_sdk=False,
        )
        self.bootstrap = brokers.get_response_field("BootstrapBrokerStringSaslIam")
        # The AwsCustomResource singleton provider Lambda is a child of the stack, not of `brokers`.
        provider_id = "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        provider = Stack.of(self).node.try_find_child(provider_id)
        acknowledge(provider or brokers, {IAM4_BASIC_EXECUTION: CDK_PROVIDER})

    # ARNs for kafka-cluster:* actions: cluster/NAME/UUID -> topic|group/NAME/UUID/<name>
    def _scoped_arn(self, kind: str, name: str) -> str:
        parts = Fn.split("/", self.cluster_arn)
        prefix = Fn.select(0, Fn.split(":cluster/", self.cluster_arn))
        return Fn.join("/", [f"{prefix}:{kind}", Fn.select(1, parts), Fn.select(2, parts), name])

    def topic_arn(self, topic: str) -> str:
        return self._scoped_arn("topic", topic)

    def group_arn(self, group: str) -> str:
        return self._scoped_arn("group", group)
