"""Network: one VPC with isolated/private subnets for Lambda, RDS, MSK and ElastiCache.

Functions reach AWS APIs through VPC endpoints (Secrets Manager, CloudWatch Logs,
STS and Lambda for the Kafka pollers, X-Ray, and an S3 gateway endpoint). NAT is a
config toggle: dev runs without it (endpoints are cheaper than a NAT gateway for
this traffic); a function in the VPC that must call the public API (uses.calls)
needs NAT, which prod enables.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from .config import EnvConfig
from .deployment import retention
from .nag import acknowledge

INTERFACE_ENDPOINTS = {
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    # The MSK event source mapping's pollers need STS and Lambda when there is no NAT.
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "Lambda": ec2.InterfaceVpcEndpointAwsService.LAMBDA_,
    "XRay": ec2.InterfaceVpcEndpointAwsService.XRAY,
}


class NetworkStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        net = config.network
        private_type = ec2.SubnetType.PRIVATE_WITH_EGRESS if net.nat_gateways else ec2.SubnetType.PRIVATE_ISOLATED
        subnets = [ec2.SubnetConfiguration(name="private", subnet_type=private_type, cidr_mask=20)]
        if net.nat_gateways:
            subnets.append(ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24))
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            max_azs=net.max_azs,
            nat_gateways=net.nat_gateways,
            subnet_configuration=subnets,
            restrict_default_security_group=True,
        )
        self.private_subnets = ec2.SubnetSelection(subnet_type=private_type)

        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=retention(net.flow_logs_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))

        # Every Lambda in the VPC wears this group; data stores admit it by reference.
        self.lambda_sg = ec2.SecurityGroup(
            self, "LambdaSg", vpc=self.vpc, description="Tradeplane Lambda functions", allow_all_outbound=True
        )
        endpoint_sg = ec2.SecurityGroup(
            self, "EndpointSg", vpc=self.vpc, description="Interface VPC endpoints", allow_all_outbound=False
        )
        endpoint_sg.add_ingress_rule(self.lambda_sg, ec2.Port.tcp(443), "HTTPS from Lambda functions")
        acknowledge(
            endpoint_sg,
            {
                "AwsSolutions-EC23": "ingress is only from the Lambda security group (a reference, not a CIDR); "
                "cdk-nag cannot evaluate the intrinsic"
            },
        )
        endpoint_subnets = ec2.SubnetSelection(
            subnet_type=private_type, availability_zones=self.vpc.availability_zones[: net.endpoint_azs]
        )
        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                name, service=service, subnets=endpoint_subnets, security_groups=[endpoint_sg], private_dns_enabled=True
            )
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
