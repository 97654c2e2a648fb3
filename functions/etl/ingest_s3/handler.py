"""S3 objects created under `raw/` in the market-data bucket: streamed, cleaned, published (and bars stored)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_etl.delivery import live_delivery
from tp_etl.s3_ingest import ingest_object
from tradeplane.observability import correlation_id, instrument, logger, metrics
from tradeplane.settings import KafkaSettings, PostgresSettings, load_settings


class Settings(KafkaSettings, PostgresSettings):
    """Reads and writes the market-data bucket (checkpoints, reports); produces market.ticks and market.bars."""


SETTINGS = load_settings(Settings)

DELIVERY = live_delivery()
_S3: list[Any] = []


def s3_client() -> Any:
    if not _S3:
        import boto3

        _S3.append(boto3.client("s3", region_name=SETTINGS.aws_region))
    return _S3[0]


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    results = []
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        result = ingest_object(
            s3_client(),
            bucket,
            key,
            DELIVERY,
            remaining_ms=context.get_remaining_time_in_millis,
            producer="ingest_s3",
            correlation_id=correlation_id(),
        )
        report = result.report.as_dict() if result.report else {}
        logger.info(
            "object ingested",
            extra={"key": result.key, "outcome": result.outcome, "published": result.published,
                   **{k: report.get(k) for k in ("accepted", "rejected", "dropped", "flagged", "out_of_order")}},
        )  # fmt: skip
        metrics.add_metric(name="RowsPublished", unit=MetricUnit.Count, value=result.published)
        results.append({"key": result.key, "outcome": result.outcome, "published": result.published})
    return {"objects": results}
