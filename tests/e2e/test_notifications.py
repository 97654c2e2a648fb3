"""S3 object-created notifications and CloudWatch Logs subscriptions reach their functions."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model

pytestmark = pytest.mark.e2e


def _wait_lines(path: Path, predicate, timeout: float = 20.0) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            docs = [json.loads(line) for line in path.read_text().splitlines()]
            if predicate(docs):
                return docs
        time.sleep(0.1)
    raise AssertionError(f"nothing matching in {path}")


def test_object_created_under_prefix_invokes_function(fixture_runtime, moto_server, sink_file: Path) -> None:  # type: ignore[no-untyped-def]
    s3 = boto3.client(
        "s3", endpoint_url=moto_server.url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    s3.put_object(Bucket="tradeplane-local-drops", Key="ignored/a.csv", Body=b"1")
    s3.put_object(Bucket="tradeplane-local-drops", Key="raw/ticks.csv", Body=b"symbol,price\n")
    docs = _wait_lines(sink_file.with_suffix(".s3"), lambda d: len(d) >= 1)
    event = S3Model.model_validate(docs[0])
    keys = [r.s3.object.key for d in docs for r in S3Model.model_validate(d).Records]
    assert event.Records[0].s3.bucket.name == "tradeplane-local-drops"
    assert any("raw" in k and "ticks.csv" in k for k in keys)
    assert not any("ignored" in k for k in keys)


def test_log_lines_reach_the_subscriber_but_not_its_own(fixture_runtime, sink_file: Path) -> None:  # type: ignore[no-untyped-def]
    fixture_runtime.hosts["counter"].invoke({})
    fixture_runtime.logs.flush()
    docs = _wait_lines(sink_file.with_suffix(".logs"), lambda d: any(x["logGroup"] == "/aws/lambda/counter" for x in d))
    doc = next(x for x in docs if x["logGroup"] == "/aws/lambda/counter")
    assert doc["messageType"] == "DATA_MESSAGE"
    assert any(e["message"].startswith("REPORT RequestId:") for e in doc["logEvents"])
    assert all(x["logGroup"] != "/aws/lambda/logsink" for x in docs)
