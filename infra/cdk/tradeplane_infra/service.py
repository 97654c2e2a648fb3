"""The service stack: functions, their triggers, the HTTP API and observability.

One stack because these change together on every release, and keeping the API,
its integrations and the functions side by side avoids cross-stack exports that
would pin function ARNs. Alarms, their topic and the dashboard sit in a nested
stack of it, and so do the routes with their integrations and permissions
(`Api`): about two alarms and three route resources per function would otherwise
push the stack past CloudFormation's 500 resources per stack, and a nested stack
deploys with its parent (references become parameters, not exports).
"""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import Annotations, NestedStack, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct
from tradeplane_tools.manifest import FunctionSpec

from .backends import Backends
from .deployment import Deployment
from .edge import GlobalEdge, HttpApi, Routes
from .functions import Functions
from .nag import acknowledge
from .observability import Observability
from .state import StateStack
from .state_machines import StateMachines
from .triggers import Triggers
from .websocket import WebSocketEdge


class ServiceStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        deployment: Deployment,
        backends: Backends,
        state: StateStack,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        d, m = deployment, deployment.manifest
        backends.secrets = dict(state.secrets)
        # Imported by name so bucket notifications live here, not in the state stack (no cycle).
        backends.buckets = {
            name: s3.Bucket.from_bucket_name(self, f"Bucket-{name}", d.bucket_name(name)) for name in m.buckets
        }
        self.add_stack_dependency(state)

        self.http = HttpApi(self, "Http", deployment=d)
        callees: set[str] = {m.functions[c].component for fn in m.functions.values() for c in fn.uses.calls}
        service_urls = dict.fromkeys(callees, self.http.url)
        self._warn_without_nat(
            d, "calls", "call the API", lambda fn: bool(fn.uses.calls), "move the call out of the VPC"
        )
        self.websocket = WebSocketEdge(self, "Stream", deployment=d) if m.websocket_routes() else None
        self._warn_without_nat(
            d, "websocket", "post to WebSocket connections", lambda fn: fn.uses.websocket, "add an execute-api endpoint"
        )
        self.functions = Functions(
            self,
            "Functions",
            deployment=d,
            backends=backends,
            service_urls=service_urls,
            websocket_endpoint=self.websocket.endpoint if self.websocket else None,
        )
        self.state_machines = StateMachines(self, "StateMachines", deployment=d, functions=self.functions.functions)
        # Routes, their integrations and invoke permissions (about three resources per route) live in a
        # nested stack, as the alarms do: beside one function, role, policy, log group and subscription
        # each, they would push this stack past CloudFormation's 500 resources.
        self.api_routes = NestedStack(self, "Api")
        self.routes = Routes(
            self.api_routes, "Routes", deployment=d, http=self.http, functions=self.functions.functions
        )
        if self.websocket is not None:
            self.websocket.add_routes(d, self.functions.functions)
        self.triggers = Triggers(self, "Triggers", deployment=d, backends=backends, functions=self.functions)
        if d.config.api.cloudfront:
            GlobalEdge(self, "Global", deployment=d, http=self.http)
        self.monitoring = NestedStack(self, "Monitoring")
        self.observability = Observability(
            self.monitoring,
            "Observability",
            deployment=d,
            backends=backends,
            functions=self.functions,
            triggers=self.triggers,
        )
        acknowledge(
            self.observability.topic,
            {
                "AwsSolutions-SNS2": "alarm notifications carry no sensitive data, and CloudWatch alarms "
                "cannot publish to a topic encrypted with the AWS-managed SNS key"
            },
        )

    def _warn_without_nat(
        self, d: Deployment, kind: str, doing: str, needs: Callable[[FunctionSpec], bool], otherwise: str
    ) -> None:
        """Functions in the VPC that reach a public AWS endpoint need a NAT gateway (or an interface endpoint)."""
        stranded = [fn.name for fn in d.manifest.functions.values() if needs(fn) and d.in_vpc(fn)]
        if stranded and not d.config.network.nat_gateways:
            Annotations.of(self).add_warning_v2(
                f"tradeplane:{kind}-without-nat",
                f"{', '.join(stranded)} {doing} from inside the VPC but network.nat_gateways is 0: "
                f"set tp:network.nat_gateways=1 (or {otherwise})",
            )
