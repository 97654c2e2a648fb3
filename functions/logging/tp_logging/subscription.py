"""Decode CloudWatch Logs subscription deliveries: base64 of gzip of one JSON document.

    {"messageType": "DATA_MESSAGE" | "CONTROL_MESSAGE", "owner", "logGroup", "logStream",
     "subscriptionFilters": [...], "logEvents": [{"id", "timestamp", "message"}, ...]}

CloudWatch sends a CONTROL_MESSAGE when it checks that the destination is reachable; it
carries no function output and is skipped.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from dataclasses import dataclass
from typing import Any

MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024  # a delivery is at most 1 MB compressed; refuse zip bombs


class MalformedPayloadError(ValueError):
    """The delivery cannot be decoded; it is reported and skipped, never retried."""


@dataclass(frozen=True)
class Delivery:
    log_group: str
    log_stream: str
    events: list[Any]  # each should be {"id", "timestamp", "message"}; checked one by one when stored
    control: bool = False

    @property
    def function(self) -> str:
        """The function a Lambda log group belongs to (`/aws/lambda/<name>`), else the group itself."""
        return self.log_group.rsplit("/", 1)[-1] if self.log_group.startswith("/aws/lambda/") else self.log_group


def payload_of(event: Any) -> str:
    """The `awslogs.data` string of a subscription event."""
    data = event.get("awslogs", {}).get("data") if isinstance(event, dict) else None
    if not isinstance(data, str):
        raise MalformedPayloadError("not a CloudWatch Logs subscription event: no awslogs.data string")
    return data


def decode(data: str) -> Delivery:
    """One delivery from its `awslogs.data`; MalformedPayloadError (with the reason, never the content) otherwise."""
    try:
        compressed = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedPayloadError("awslogs.data is not base64") from None
    try:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
        raw = inflater.decompress(compressed, MAX_DECOMPRESSED_BYTES)
        if inflater.unconsumed_tail:
            raise MalformedPayloadError(f"awslogs.data inflates beyond {MAX_DECOMPRESSED_BYTES} bytes")
    except (zlib.error, EOFError, gzip.BadGzipFile):
        raise MalformedPayloadError("awslogs.data is not gzip") from None
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise MalformedPayloadError("awslogs.data is not a JSON document") from None
    if not isinstance(doc, dict):
        raise MalformedPayloadError("awslogs.data is not a JSON object")
    kind = doc.get("messageType")
    if kind == "CONTROL_MESSAGE":
        return Delivery(str(doc.get("logGroup") or ""), str(doc.get("logStream") or ""), [], control=True)
    group, stream, events = doc.get("logGroup"), doc.get("logStream"), doc.get("logEvents")
    if kind != "DATA_MESSAGE" or not isinstance(group, str) or not group or not isinstance(stream, str):
        raise MalformedPayloadError(f"unexpected messageType {str(kind)[:40]!r} or no logGroup/logStream")
    if not isinstance(events, list):
        raise MalformedPayloadError("logEvents is not a list")
    return Delivery(group, stream, events)
