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
from tradeplane_tools.manifest import FunctionSpec, KafkaTrigger

from .backends import Backends
from .deployment import Deployment
from .functions import Functions
from .nag import CDK_PROVIDER, IAM4_BASIC_EXECUTION, acknowledge

ESM_METRICS = ["EventCount", "ErrorCount", "KafkaMetrics"]
MAX_SUBSCRIPTIONS_PER_LOG_GROUP = 2  # CloudWatch Logs limit


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
        m = deployment.manifest
        self.mappings: list[tuple[KafkaTrigger, FunctionSpec, lambda_.CfnEventSourceMapping]] = []
        for i, (trig, fn) in enumerate(m.kafka_consumers()):
            self.mappings.append((trig, fn, self._kafka(i, trig, fn)))
        for i, (sched, fn) in enumerate(m.schedules()):
            events.Rule(
                self,
                f"Schedule{i}-{fn.name}",
                schedule=schedule(sched.expression),
                targets=[targets.LambdaFunction(functions.functions[fn.name], retry_attempts=2)],
                description=f"{fn.name}: {sched.expression}",
            )
        self._s3()
        self._log_subscriptions()

    def _kafka(self, i: int, trig: KafkaTrigger, fn: FunctionSpec) -> lambda_.CfnEventSourceMapping:
        _d, b, cfg = self.d, self.b, self.d.config.kafka
        function = self.fns.functions[fn.name]
        common: dict[str, object] = {
            "function_name": function.function_name,
            "topics": [trig.topic],
            "batch_size": trig.batch_size,
            "maximum_batching_window_in_seconds": batching_window_seconds(trig.batching_window_ms),
            "starting_position": trig.starting_position,
            "maximum_retry_attempts": trig.max_retries,
            "bisect_batch_on_function_error": trig.bisect_on_error,
            "destination_config": lambda_.CfnEventSourceMapping.DestinationConfigProperty(
                on_failure=lambda_.CfnEventSourceMapping.OnFailureProperty(
                    destination=f"kafka://{fn.dead_letter_topic(trig)}"
                )
            ),
            "metrics_config": lambda_.CfnEventSourceMapping.MetricsConfigProperty(metrics=ESM_METRICS),
        }
        if b.kafka is not None:  # MSK with IAM: the pollers use the function's role
            source: dict[str, object] = {
                "event_source_arn": b.kafka.cluster_arn,
                "amazon_managed_kafka_event_source_config": (
                    lambda_.CfnEventSourceMapping.AmazonManagedKafkaEventSourceConfigProperty(
                        consumer_group_id=trig.group
                    )
                ),
                # Retries, bisect and a Kafka on-failure topic need provisioned pollers.
                "provisioned_poller_config": lambda_.CfnEventSourceMapping.ProvisionedPollerConfigProperty(
                    minimum_pollers=cfg.min_pollers, maximum_pollers=cfg.max_pollers
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
                        consumer_group_id=trig.group
                    )
                ),
            }
        mapping = lambda_.CfnEventSourceMapping(self, f"Kafka{i}-{fn.name}", **common, **source)  # type: ignore[arg-type]
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
        subscribers = d.manifest.log_subscribers()
        if len(subscribers) > MAX_SUBSCRIPTIONS_PER_LOG_GROUP:
            raise ValueError(
                f"{len(subscribers)} log subscribers; CloudWatch allows {MAX_SUBSCRIPTIONS_PER_LOG_GROUP} per log group"
            )
        for i, (trig, sub) in enumerate(subscribers):
            target = fns.functions[sub.name]
            # One permission for all source log groups of this deployment (by name prefix),
            # instead of one per group: the function's resource policy has a 20 KB limit.
            permission = lambda_.CfnPermission(
                self,
                f"LogsInvoke{i}-{sub.name}",
                action="lambda:InvokeFunction",
                function_name=target.function_arn,
                principal=f"logs.{Aws.REGION}.amazonaws.com",
                source_account=Aws.ACCOUNT_ID,
                source_arn=f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws/lambda/{d.prefix}-*",
            )
            for fn in d.manifest.functions.values():
                if fn.name == sub.name:
                    continue  # never feed a subscriber its own logs (a loop)
                log_group: logs.ILogGroup = fns.log_groups[fn.name]
                subscription = logs.CfnSubscriptionFilter(
                    self,
                    f"Sub{i}-{fn.name}",
                    log_group_name=log_group.log_group_name,
                    destination_arn=target.function_arn,
                    filter_pattern=trig.filter_pattern,
                )
                subscription.add_resource_dependency(permission)
