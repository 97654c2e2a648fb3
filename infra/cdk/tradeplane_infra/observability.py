"""Alarms and one dashboard, all derived from the manifest.

- errors and throttles per function (AWS/Lambda);
- consumer lag per Kafka consumer group and topic (AWS/Kafka SumOffsetLag, MSK only);
- dead letters: records the event source mapping delivered to its on-failure topic
  (AWS/Lambda OnFailureDestinationDeliveredEventCount per mapping). Counting messages
  in the DLQ topics themselves would need MSK per-topic monitoring (billed) and a
  per-broker metric; the mapping metric says the same thing at no cost.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

from .backends import Backends
from .deployment import Deployment
from .functions import Functions
from .triggers import Triggers

PERIOD = Duration.minutes(5)


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        deployment: Deployment,
        backends: Backends,
        functions: Functions,
        triggers: Triggers,
    ) -> None:
        super().__init__(scope, construct_id)
        d, cfg = deployment, deployment.config.alarms
        self.topic = sns.Topic(self, "Alarms", topic_name=d.name("alarms"), master_key=None, enforce_ssl=True)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=[self.topic.topic_arn],
            )
        )
        if cfg.email:
            self.topic.add_subscription(subs.EmailSubscription(cfg.email))
        action = actions.SnsAction(self.topic)
        self.alarms: list[cw.Alarm] = []

        def alarm(alarm_id: str, metric: cw.Metric, threshold: float, what: str) -> None:
            a = metric.create_alarm(
                self,
                alarm_id,
                alarm_name=d.name(alarm_id),
                alarm_description=what,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
            a.add_alarm_action(action)
            self.alarms.append(a)

        widgets: list[cw.IWidget] = []
        for name, function in functions.functions.items():
            errors = function.metric_errors(period=PERIOD, statistic="Sum")
            throttles = function.metric_throttles(period=PERIOD, statistic="Sum")
            alarm(f"{name}-errors", errors, cfg.error_threshold, f"{name}: invocation errors")
            alarm(f"{name}-throttles", throttles, 1, f"{name}: throttled invocations")
            widgets.append(
                cw.GraphWidget(
                    title=name,
                    left=[function.metric_invocations(period=PERIOD), errors, throttles],
                    right=[function.metric_duration(period=PERIOD, statistic="p95")],
                    width=8,
                )
            )

        for trig, mapping in triggers.mappings:
            dead = cw.Metric(
                namespace="AWS/Lambda",
                metric_name="OnFailureDestinationDeliveredEventCount",
                dimensions_map={"EventSourceMappingUUID": mapping.ref},
                period=PERIOD,
                statistic="Sum",
            )
            alarm(
                f"{trig.function}-{trig.topic}-dead-letters",
                dead,
                cfg.dlq_threshold,
                f"{trig.function}: records from {trig.topic} sent to {trig.dead_letter_topic}",
            )
            if backends.kafka is None:
                continue
            lag = cw.Metric(
                namespace="AWS/Kafka",
                metric_name="SumOffsetLag",
                dimensions_map={
                    "Cluster Name": backends.kafka.cluster_name,
                    "Consumer Group": trig.group,
                    "Topic": trig.topic,
                },
                period=PERIOD,
                statistic="Maximum",
            )
            alarm(
                f"{trig.group}-{trig.topic}-lag",
                lag,
                cfg.consumer_lag_threshold,
                f"consumer group {trig.group} lags on {trig.topic}",
            )
            widgets.append(cw.GraphWidget(title=f"lag {trig.group} / {trig.topic}", left=[lag, dead], width=8))

        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=d.name("overview"))
        self.dashboard.add_widgets(cw.AlarmStatusWidget(alarms=list(self.alarms), width=24, title="alarms"))
        for i in range(0, len(widgets), 3):
            self.dashboard.add_widgets(*widgets[i : i + 3])
