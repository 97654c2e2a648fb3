"""CloudWatch Logs subscription (every other function's log group): store the lines in ops.logs."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_logging.aggregate import AggregateResult, aggregate
from tradeplane import db
from tradeplane.observability import instrument, metrics
from tradeplane.settings import PostgresSettings, load_settings


class Settings(PostgresSettings):
    """Writes ops.logs (and creates its day partitions) on the primary."""


SETTINGS = load_settings(Settings)


def _emit(result: AggregateResult) -> None:
    metrics.add_metric(name="LogLinesStored", unit=MetricUnit.Count, value=result.stored)
    metrics.add_metric(name="LogPayloadsMalformed", unit=MetricUnit.Count, value=result.malformed_payloads)
    metrics.add_metric(name="LogEventsRejected", unit=MetricUnit.Count, value=result.rejected_events)
    # Error rate per service: errors and lines as metrics (a CloudWatch metric-math ratio), and the share.
    for service, lines in result.lines_by_service.items():
        errors = result.errors_by_service.get(service, 0)
        for name, unit, value in (
            ("LogLines", MetricUnit.Count, lines),
            ("LogErrors", MetricUnit.Count, errors),
            ("LogErrorRate", MetricUnit.Percent, 100.0 * errors / lines),
        ):
            with single_metric(name=name, unit=unit, value=value, namespace=metrics.namespace) as metric:
                metric.add_dimension(name="service", value=service)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    result = aggregate([event], db.transaction)
    _emit(result)
    return {
        "stored": result.stored,
        "duplicate_deliveries": result.duplicate_deliveries,
        "malformed_payloads": result.malformed_payloads,
        "rejected_events": result.rejected_events,
    }
