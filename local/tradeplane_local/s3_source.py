"""S3 object-created notifications, locally: moto sends them to SQS, we hand them to the function.

Each S3 trigger gets its own queue and bucket notification (with the
trigger's prefix and suffix filters), so moto produces the genuine S3 event
document and the function receives exactly the `{"Records": [...]}` that S3
would send to Lambda. A message is deleted only after the function succeeds;
otherwise it becomes visible again and is retried, as with async invokes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tradeplane_local import events
from tradeplane_local.host import InvokeResult
from tradeplane_local.loops import BackgroundLoop

QUEUE_VISIBILITY_S = 30


class S3NotificationSource(BackgroundLoop):
    def __init__(
        self,
        function: str,
        bucket: str,
        prefix: str,
        suffix: str,
        client_factory: Callable[[str], Any],
        invoke: Callable[[dict[str, Any]], InvokeResult],
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        super().__init__()
        self.thread_name = f"s3:{function}"
        self.function, self.bucket, self.prefix, self.suffix = function, bucket, prefix, suffix
        self.invoke = invoke
        self.log = log
        self.delivered = 0
        self.failed = 0
        self._s3 = client_factory("s3")
        self._sqs = client_factory("sqs")
        self.queue_url = ""

    def subscribe(self, existing: list[dict[str, Any]]) -> dict[str, Any]:
        """Create the queue and return this trigger's notification entry (all entries go in one PUT)."""
        self.queue_url = self._sqs.create_queue(
            QueueName=f"s3-events-{self.function}",
            Attributes={"VisibilityTimeout": str(QUEUE_VISIBILITY_S)},
        )["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        rules = [{"Name": "prefix", "Value": self.prefix}] if self.prefix else []
        rules += [{"Name": "suffix", "Value": self.suffix}] if self.suffix else []
        entry: dict[str, Any] = {"QueueArn": arn["Attributes"]["QueueArn"], "Events": ["s3:ObjectCreated:*"]}
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        existing.append(entry)
        return entry

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                reply = self._sqs.receive_message(QueueUrl=self.queue_url, WaitTimeSeconds=1, MaxNumberOfMessages=10)
            except Exception as exc:  # noqa: BLE001 - moto restarting or gone: try again shortly
                self.log(f"s3 source {self.function}: {exc}")
                self._stop.wait(1)
                continue
            for msg in reply.get("Messages", []):
                self._handle(msg)

    def _handle(self, msg: dict[str, Any]) -> None:
        body = json.loads(msg["Body"])
        if "Records" in body:  # s3:TestEvent and other non-record messages are not delivered
            result = self.invoke({"Records": [events.complete_s3_record(r) for r in body["Records"]]})
            if not result.ok:
                self.failed += 1
                self.log(f"s3 source {self.function}: invocation failed ({result.error_type}); will retry")
                return
            self.delivered += 1
        self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=msg["ReceiptHandle"])
