"""The manifest's `[state_machines.*]`: Step Functions fan-outs (a Distributed Map over one function, then
a finish step), built from the same spec the local runtime runs (`tradeplane_local.aws_apis`).

    Map (DISTRIBUTED, items at `items_path`, each item's event from `item_selector`, at most
    `max_concurrency` child executions, `tolerated_failure_percentage`) -> item_function, retried
    `item_retries` times; results discarded (each item stores its own)
      -> finish_function {finish_payload, outcome: "succeeded"}
      on any error -> finish_function {finish_payload, outcome: "failed", error} -> Fail

Each machine is named deterministically (`<prefix>-<name>`), so a starter's IAM and environment name
its ARN without referencing it. Executions log to their own log group (ALL, without execution data:
inputs hold users' parameters) and trace with X-Ray.
"""

from __future__ import annotations

from aws_cdk import CfnElement, Duration, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from tradeplane_tools.manifest import StateMachineSpec

from .deployment import Deployment, retention
from .nag import acknowledge

__all__ = ["StateMachines"]


def _path(value: str) -> str:
    return sfn.JsonPath.string_at(value)


def _logical_id(construct: Construct) -> str:
    element = construct.node.default_child
    assert isinstance(element, CfnElement)
    return str(Stack.of(construct).resolve(Stack.of(construct).get_logical_id(element)))


def _wildcard_findings(machine: sfn.StateMachine, invoked: list[lambda_.Function]) -> dict[str, str]:
    """cdk-nag IAM5 findings of the grants CDK gives a Distributed Map machine, each with its reason."""
    own = _logical_id(machine)
    execution = (
        "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
        f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{own}"}}]}}]}}'
    )
    reasons = {
        f"AwsSolutions-IAM5[Resource::<{_logical_id(fn)}.Arn>:*]": (
            "invoking the task function's versions and aliases (`<arn>:*`), as CDK's LambdaInvoke grants"
        )
        for fn in invoked
    }
    reasons["AwsSolutions-IAM5[Resource::*]"] = "X-Ray tracing and log delivery support only Resource '*'"
    for suffix in (":*", "/*:*"):
        reasons[f"AwsSolutions-IAM5[Resource::{execution}{suffix}]"] = (
            "describing and stopping this machine's own child executions (Distributed Map), named at run time"
        )
    return reasons


class StateMachines(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, deployment: Deployment, functions: dict[str, lambda_.Function]
    ) -> None:
        super().__init__(scope, construct_id)
        self.machines: dict[str, sfn.StateMachine] = {
            name: self._machine(deployment, spec, functions)
            for name, spec in deployment.manifest.state_machines.items()
        }

    def _machine(
        self, d: Deployment, spec: StateMachineSpec, functions: dict[str, lambda_.Function]
    ) -> sfn.StateMachine:
        scope = Construct(self, spec.name)
        # The item's retries are the manifest's (the local runtime retries the same way), not CDK's default six.
        item = tasks.LambdaInvoke(
            scope,
            "Item",
            lambda_function=functions[spec.item_function],
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        if spec.item_retries:
            item.add_retry(
                errors=["States.TaskFailed", "Lambda.ServiceException", "Lambda.TooManyRequestsException"],
                max_attempts=spec.item_retries,
                interval=Duration.seconds(2),
                backoff_rate=2,
            )
        fan_out = sfn.DistributedMap(
            scope,
            "Map",
            items_path=spec.items_path,
            item_selector={key: _path(path) for key, path in spec.item_selector.items()},
            max_concurrency=spec.max_concurrency,
            tolerated_failure_percentage=spec.tolerated_failure_percentage,
            result_path=sfn.JsonPath.DISCARD,
        )
        fan_out.item_processor(item)
        payload = {key: _path(path) for key, path in spec.finish_payload.items()}
        finish = tasks.LambdaInvoke(
            scope,
            "Finish",
            lambda_function=functions[spec.finish_function],
            payload=sfn.TaskInput.from_object({**payload, "outcome": "succeeded"}),
            payload_response_only=True,
        )
        failed = tasks.LambdaInvoke(
            scope,
            "FinishFailed",
            lambda_function=functions[spec.finish_function],
            payload=sfn.TaskInput.from_object({**payload, "outcome": "failed", "error": _path("$.error.Error")}),
            payload_response_only=True,
        ).next(sfn.Fail(scope, "Failed", error="MapFailed", cause=f"{spec.name}: items failed beyond tolerance"))
        fan_out.add_catch(failed, result_path="$.error")
        log_group = logs.LogGroup(
            scope,
            "Logs",
            log_group_name=f"/aws/vendedlogs/states/{d.name(spec.name)}",
            retention=retention(d.config.functions.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        machine = sfn.StateMachine(
            scope,
            "StateMachine",
            state_machine_name=d.name(spec.name),
            comment=spec.description[:256] or spec.name,
            definition_body=sfn.DefinitionBody.from_chainable(fan_out.next(finish)),
            timeout=Duration.minutes(spec.timeout_minutes),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        acknowledge(
            machine, _wildcard_findings(machine, [functions[spec.item_function], functions[spec.finish_function]])
        )
        return machine
