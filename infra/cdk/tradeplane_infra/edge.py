"""Edge: the HTTP API (payload 2.0, HTTPS only), its Lambda authorizer, routes and throttling.

Optional by config/context: a custom domain (TLS 1.2 policy) and CloudFront with a
WAF IP allowlist in front (HTTP APIs cannot take a WAF web ACL themselves).
"""

from __future__ import annotations

import json

from aws_cdk import CfnOutput, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct
from tradeplane_tools.edge_limits import INTEGRATION_TIMEOUT
from tradeplane_tools.manifest import AuthorizerTrigger, HttpTrigger

from .deployment import Deployment, retention
from .nag import acknowledge

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
        "principal": "$context.authorizer.principalId",
    }
)


def route_key(trig: HttpTrigger) -> str:
    return f"{trig.method} {trig.path}"


class HttpApi(Construct):
    """The API itself, created before the functions so their environment can name its URL."""

    def __init__(self, scope: Construct, construct_id: str, *, deployment: Deployment) -> None:
        super().__init__(scope, construct_id)
        d, api_cfg = deployment, deployment.config.api
        self.api = apigw.HttpApi(
            self,
            "Api",
            api_name=d.name("api"),
            create_default_stage=False,
            cors_preflight=(
                apigw.CorsPreflightOptions(
                    allow_origins=list(api_cfg.cors_origins),
                    allow_methods=[apigw.CorsHttpMethod.ANY],
                    allow_headers=["authorization", "content-type", "idempotency-key"],
                    max_age=Duration.hours(1),
                )
                if api_cfg.cors_origins
                else None
            ),
        )
        self.domain: apigw.DomainName | None = None
        if api_cfg.domain_name:
            if not api_cfg.certificate_arn:
                raise ValueError("api.domain_name needs api.certificate_arn (an ACM certificate in the API's region)")
            self.domain = apigw.DomainName(
                self,
                "Domain",
                domain_name=api_cfg.domain_name,
                certificate=acm.Certificate.from_certificate_arn(self, "Cert", api_cfg.certificate_arn),
                security_policy=apigw.SecurityPolicy.TLS_1_2,
            )
        self.url = f"https://{api_cfg.domain_name}" if api_cfg.domain_name else self.api.api_endpoint


class Routes(Construct):
    """Authorizer, one route per manifest HTTP trigger, the $default stage with throttling and access logs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        deployment: Deployment,
        http: HttpApi,
        functions: dict[str, lambda_.Function],
    ) -> None:
        super().__init__(scope, construct_id)
        d, m, api_cfg = deployment, deployment.manifest, deployment.config.api
        api = http.api
        authorizer: authorizers.HttpLambdaAuthorizer | None = None
        auth_fn = m.authorizer()
        if auth_fn is not None:
            trig: AuthorizerTrigger = auth_fn.triggers_of(AuthorizerTrigger)[0]
            authorizer = authorizers.HttpLambdaAuthorizer(
                "Authorizer",
                functions[auth_fn.name],
                authorizer_name=d.name("authorizer"),
                identity_source=list(trig.identity_sources),
                response_types=[authorizers.HttpLambdaResponseType.SIMPLE],
                results_cache_ttl=Duration.seconds(trig.result_ttl_s),
            )

        self.routes: dict[str, apigw.HttpRoute] = {}
        for trig_, fn in m.routes():
            key = route_key(trig_)
            route = apigw.HttpRoute(
                self,
                f"Route-{trig_.method}-{trig_.path}",
                http_api=api,
                route_key=apigw.HttpRouteKey.with_(trig_.path, apigw.HttpMethod(trig_.method)),
                integration=integrations.HttpLambdaIntegration(f"Int-{fn.name}-{trig_.method}", functions[fn.name]),
                authorizer=authorizer if trig_.auth == "authorizer" else None,
            )
            if trig_.auth == "none":
                acknowledge(
                    route,
                    {"AwsSolutions-APIG4": f'{key} is public by the manifest (auth = "none"), e.g. health and login'},
                )
            self.routes[key] = route
        # The L2 caps integration timeouts at 29 s; the HTTP API allows 30 s (the edge table), which
        # the manifest allows functions too, so CloudFormation gets the table's value directly.
        for node in self.node.find_all():
            if isinstance(node, apigw.CfnIntegration):
                node.add_property_override("TimeoutInMillis", INTEGRATION_TIMEOUT.value * 1000)

        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=retention(api_cfg.access_log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        route_settings = {
            route_key(t): {
                k: v
                for k, v in (("ThrottlingRateLimit", t.throttle_rate), ("ThrottlingBurstLimit", t.throttle_burst))
                if v is not None
            }
            for t, _ in m.routes()
            if t.throttle_rate is not None or t.throttle_burst is not None
        }
        self.stage = apigw.CfnStage(
            self,
            "Stage",
            api_id=api.api_id,
            stage_name="$default",
            auto_deploy=True,
            access_log_settings=apigw.CfnStage.AccessLogSettingsProperty(
                destination_arn=access_logs.log_group_arn, format=ACCESS_LOG_FORMAT
            ),
            default_route_settings=apigw.CfnStage.RouteSettingsProperty(
                throttling_rate_limit=api_cfg.throttle_rate,
                throttling_burst_limit=api_cfg.throttle_burst,
                detailed_metrics_enabled=True,
            ),
            route_settings=route_settings or None,
        )
        for route in self.routes.values():
            self.stage.node.add_dependency(route)  # route settings name routes that must exist
        if http.domain is not None:
            apigw.CfnApiMapping(self, "Mapping", api_id=api.api_id, domain_name=http.domain.name, stage=self.stage.ref)
        CfnOutput(Stack.of(http), "ApiUrl", value=http.url)  # the parent stack's output


class GlobalEdge(Construct):
    """CloudFront + WAF IP allowlist in front of the API. WAF for CloudFront lives in us-east-1."""

    def __init__(self, scope: Construct, construct_id: str, *, deployment: Deployment, http: HttpApi) -> None:
        super().__init__(scope, construct_id)
        d, api_cfg = deployment, deployment.config.api
        if d.config.region and d.config.region != "us-east-1":
            raise ValueError("api.cloudfront needs the service stack in us-east-1 (WAF scope CLOUDFRONT)")
        rules = []
        default_action = wafv2.CfnWebACL.DefaultActionProperty(allow={})
        if api_cfg.allowlist_cidrs:
            ip_set = wafv2.CfnIPSet(
                self,
                "Allowlist",
                scope="CLOUDFRONT",
                ip_address_version="IPV4",
                addresses=list(api_cfg.allowlist_cidrs),
                name=d.name("allowlist"),
            )
            default_action = wafv2.CfnWebACL.DefaultActionProperty(block={})
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name="allowlist",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(allow={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        ip_set_reference_statement=wafv2.CfnWebACL.IPSetReferenceStatementProperty(arn=ip_set.attr_arn)
                    ),
                    visibility_config=self._visibility("allowlist"),
                )
            )
        acl = wafv2.CfnWebACL(
            self,
            "Acl",
            scope="CLOUDFRONT",
            default_action=default_action,
            rules=rules,
            visibility_config=self._visibility(d.name("acl")),
        )
        origin_host = api_cfg.domain_name or Fn.select(2, Fn.split("/", http.api.api_endpoint))
        self.distribution = cloudfront.Distribution(
            self,
            "Cdn",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(origin_host, protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            ),
            web_acl_id=acl.attr_arn,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
        )
        acknowledge(
            self.distribution,
            {
                "AwsSolutions-CFR1": "no geo restriction: access is limited by the WAF IP allowlist instead",
                "AwsSolutions-CFR3": "API Gateway access logs already record every request; CloudFront "
                "standard logs would need an ACL-enabled bucket",
                "AwsSolutions-CFR4": "the default *.cloudfront.net certificate allows TLSv1 at the viewer; "
                "set api.domain_name with an ACM certificate to enforce TLS 1.2",
            },
        )
        CfnOutput(Stack.of(self), "CdnUrl", value=f"https://{self.distribution.distribution_domain_name}")

    @staticmethod
    def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
        return wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=name.replace("-", ""), sampled_requests_enabled=True
        )
