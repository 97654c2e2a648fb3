"""Non-HTTP triggers from the manifest: Kafka event source mappings, schedules, S3, log subscriptions.

Event source mappings are L1 (`CfnEventSourceMapping`) on purpose: the L2 Kafka
sources attach the AWS-managed AWSLambdaMSKExecutionRole (broad `kafka:*` reads and
ENI rights) to the role, while `iam.py` grants exactly the topics and groups, and
one code path serves both MSK (AWS) and self-managed Kafka (LocalStack).
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct
from tradeplane_tools.wiring import EventSourceRule

from .backends import Backends
from .deployment import Deployment
from .functions import Functions
from .nag import CDK_PROVIDER, IAM4_BASIC_EXECUTION, acknowledge

ESM_METRICS = ["EventCount", "ErrorCount", "KafkaMetrics"]


def batching_window_seconds(ms: int) -> int | None:
    """Lambda takes whole seconds; under one second keep AWS's Kafka default (500 ms)."""
    return None if ms < 1000 else round(ms / 1000)


def schedule(expression: str) -> events.Schedule:
    return events.Schedule.expression(expression)


class Triggers(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, deployment: Deployment, backends: Backends, functions: Functions
    ) -> None:
        super().__init__(scope, construct_id)
        self.d, self.b, self.fns = deployment, backends, functions
        rules = deployment.wiring
        self.mappings: list[tuple[EventSourceRule, lambda_.CfnEventSourceMapping]] = [
            (rule, self._kafka(i, rule)) for i, rule in enumerate(rules.event_sources)
        ]
        for i, sched in enumerate(rules.schedules):
            events.Rule(
                self,
                f"Schedule{i}-{sched.function}",
                schedule=schedule(sched.expression),
                targets=[
                    targets.LambdaFunction(functions.functions[sched.function], retry_attempts=sched.retry_attempts)
                ],
                description=f"{sched.function}: {sched.expression}",
            )
        self._s3()
        self._log_subscriptions()

    def _kafka(self, i: int, rule: EventSourceRule) -> lambda_.CfnEventSourceMapping:
        b, cfg = self.b, self.d.config.kafka
        function = self.fns.functions[rule.function]
        common: dict[str, object] = {
            "function_name": function.function_name,
            "topics": [rule.topic],
            "batch_size": rule.batch_size,
            "maximum_batching_window_in_seconds": batching_window_seconds(rule.batching_window_ms),
            "starting_position": rule.starting_position,
            "maximum_retry_attempts": rule.max_retries,
            "bisect_batch_on_function_error": rule.bisect_on_error,
            "destination_config": lambda_.CfnEventSourceMapping.DestinationConfigProperty(
                on_failure=lambda_.CfnEventSourceMapping.OnFailureProperty(
                    destination=f"kafka://{rule.dead_letter_topic}"
                )
            ),
            "metrics_config": lambda_.CfnEventSourceMapping.MetricsConfigProperty(metrics=ESM_METRICS),
        }
        if b.kafka is not None:  # MSK with IAM: the pollers use the function's role
            source: dict[str, object] = {
                "event_source_arn": b.kafka.cluster_arn,
                "amazon_managed_kafka_event_source_config": (
                    lambda_.CfnEventSourceMapping.AmazonManagedKafkaEventSourceConfigProperty(
                        consumer_group_id=rule.group
                    )
                ),
                # Retries, bisect and a Kafka on-failure topic need provisioned pollers; never fewer than
                # the wiring's concurrency (the local runtime's too) needs, so the pollers never bind first.
                "provisioned_poller_config": lambda_.CfnEventSourceMapping.ProvisionedPollerConfigProperty(
                    minimum_pollers=cfg.min_pollers, maximum_pollers=max(cfg.max_pollers, rule.pollers_needed)
                ),
            }
        else:  # LocalStack: self-managed, plaintext broker on the compose network
            assert b.kafka_bootstrap is not None
            source = {
                "self_managed_event_source": lambda_.CfnEventSourceMapping.SelfManagedEventSourceProperty(
                    endpoints=lambda_.CfnEventSourceMapping.EndpointsProperty(
                        kafka_bootstrap_servers=b.kafka_bootstrap.split(",")
                    )
                ),
                "self_managed_kafka_event_source_config": (
                    lambda_.CfnEventSourceMapping.SelfManagedKafkaEventSourceConfigProperty(
                        consumer_group_id=rule.group
                    )
                ),
            }
        mapping = lambda_.CfnEventSourceMapping(self, f"Kafka{i}-{rule.function}", **common, **source)  # type: ignore[arg-type]
        # The role's policy must exist before Lambda validates the mapping.
        role = function.role
        if role is not None:
            mapping.node.add_dependency(role)
        if b.kafka is not None:
            mapping.node.add_dependency(b.kafka)
        return mapping

    def _s3(self) -> None:
        notifications = self.d.manifest.s3_notifications()
        for _i, (trig, fn) in enumerate(notifications):
            bucket = self.b.buckets[trig.bucket]
            key_filter = s3.NotificationKeyFilter(prefix=trig.prefix or None, suffix=trig.suffix or None)
            bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(self.fns.functions[fn.name]), key_filter
            )
        if notifications:
            handler = Stack.of(self).node.try_find_child("BucketNotificationsHandler050a0587b7544547bf325f094a3db834")
            if handler is not None:
                acknowledge(
                    handler,
                    {
                        IAM4_BASIC_EXECUTION: CDK_PROVIDER,
                        "AwsSolutions-IAM5[Resource::*]": CDK_PROVIDER
                        + "; s3:PutBucketNotification on imported buckets is granted on '*' by CDK",
                    },
                )

    def _log_subscriptions(self) -> None:
        d, fns = self.d, self.fns
        # The manifest refuses more subscribers than CloudWatch Logs allows per log group.
        for i, sub in enumerate(d.wiring.log_subscriptions):
            target = fns.functions[sub.subscriber]
            # One permission for all source log groups of this deployment (by name prefix),
            # instead of one per group: the function's resource policy has a 20 KB limit.
            permission = lambda_.CfnPermission(
                self,
                f"LogsInvoke{i}-{sub.subscriber}",
                action="lambda:InvokeFunction",
                function_name=target.function_arn,
                principal=f"logs.{Aws.REGION}.amazonaws.com",
                source_account=Aws.ACCOUNT_ID,
                source_arn=f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws/lambda/{d.prefix}-*",
            )
            for source in sub.sources:  # never the subscriber's own group: that would loop
                log_group: logs.ILogGroup = fns.log_groups[source]
                subscription = logs.CfnSubscriptionFilter(
                    self,
                    f"Sub{i}-{source}",
                    log_group_name=log_group.log_group_name,
                    destination_arn=target.function_arn,
                    filter_pattern=sub.filter_pattern,
                )
                subscription.add_resource_dependency(permission)
