"""The WebSocket API (Alpaca's `trade_updates` stream): routes from the manifest's `websocket` triggers,
one stage with throttling and access logs, and the management API grant for functions that post.

The API is created before the functions so their environment can name the stage's
callback URL (`TP_WS_ENDPOINT`, the management API endpoint); routes are added after.
Routes select on `$request.body.action`, as Alpaca's frames carry `action`.
"""

from __future__ import annotations

import json

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from tradeplane_tools.edge_limits import WEBSOCKET_INTEGRATION_TIMEOUT

from .deployment import Deployment, retention
from .nag import acknowledge

WS_ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "eventType": "$context.eventType",
        "connectionId": "$context.connectionId",
        "status": "$context.status",
        "integrationError": "$context.integrationErrorMessage",
    }
)


class WebSocketEdge(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, deployment: Deployment) -> None:
        super().__init__(scope, construct_id)
        d, api_cfg = deployment, deployment.config.api
        self.api = apigw.WebSocketApi(
            self, "Api", api_name=d.name("stream"), route_selection_expression="$request.body.action"
        )
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=retention(api_cfg.access_log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.stage = apigw.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=d.config.stage,
            auto_deploy=True,
            detailed_metrics_enabled=True,
            throttle=apigw.ThrottleSettings(
                rate_limit=api_cfg.websocket_throttle_rate, burst_limit=api_cfg.websocket_throttle_burst
            ),
        )
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn, format=WS_ACCESS_LOG_FORMAT
        )
        self.endpoint = self.stage.callback_url  # https://{api}.execute-api.{region}.amazonaws.com/{stage}
        self.routes: dict[str, apigw.WebSocketRoute] = {}
        CfnOutput(Stack.of(self), "StreamUrl", value=self.stage.url)

    def add_routes(self, deployment: Deployment, functions: dict[str, lambda_.Function]) -> None:
        """One route per manifest `websocket` trigger; functions that post get ManageConnections."""
        m = deployment.manifest
        for trig, fn in m.websocket_routes():
            integration = integrations.WebSocketLambdaIntegration(
                f"Int-{fn.name}", functions[fn.name], timeout=Duration.seconds(WEBSOCKET_INTEGRATION_TIMEOUT.value)
            )
            route = self.api.add_route(trig.route, integration=integration)
            # Alpaca's protocol authenticates in the first message (`authenticate`), never at the upgrade.
            acknowledge(
                route,
                {"AwsSolutions-APIG4": f"{trig.route}: clients authenticate with Alpaca's `authenticate` message"},
            )
            self.routes[trig.route] = route
        stack = Stack.of(self)
        api_id = stack.resolve(stack.get_logical_id(self.api.node.default_child))  # type: ignore[arg-type]
        connections = (
            f"arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<{api_id}>/"
            f"{self.stage.stage_name}/*/@connections/*"
        )
        for fn in m.functions.values():
            if fn.uses.websocket:
                self.stage.grant_management_api_access(functions[fn.name])
                acknowledge(
                    functions[fn.name].role or functions[fn.name],
                    {
                        f"AwsSolutions-IAM5[Resource::{connections}]": "PostToConnection and DeleteConnection on "
                        "this API's stage only: connection ids are made at run time, so the ARN ends in @connections/*"
                    },
                )
