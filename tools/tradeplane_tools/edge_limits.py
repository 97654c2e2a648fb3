"""API Gateway's edge, as documented: one table read by the local gateway and by the CDK app.

Each limit carries the value AWS documents and the answer a client gets past it
(status and API Gateway's `{"message": ...}` body). The local gateway enforces
these; the CDK app sets the same values where CloudFormation takes them, and the
manifest refuses HTTP functions whose timeout exceeds the integration timeout.

Sources: "Quotas for configuring and running an HTTP API in API Gateway" (payload
10 MB, request line + header values 10240 bytes, integration timeout 30 s,
authorizer response 10000 ms) and "Lambda quotas" (synchronous invocation
payload 6 MB, enforced as 6,291,456 bytes of event JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class EdgeLimit:
    name: str
    value: int
    unit: str  # "bytes" or "seconds"
    status: int  # what API Gateway answers past the limit
    message: str  # its {"message": ...} body
    source: str  # where AWS documents it

    def body(self) -> bytes:
        return json.dumps({"message": self.message}).encode()


HTTP_API_PAYLOAD = EdgeLimit(
    "http_api_payload", 10 * MiB, "bytes", 413, "Request Entity Too Large", "HTTP API quotas: payload size 10 MB"
)
LAMBDA_SYNC_PAYLOAD = EdgeLimit(
    "lambda_sync_payload",
    6 * MiB,
    "bytes",
    413,
    "Request Entity Too Large",
    "Lambda quotas: invocation payload 6 MB (synchronous); the event JSON counts, base64 included",
)
REQUEST_HEADERS = EdgeLimit(
    "request_line_and_headers",
    10240,
    "bytes",
    431,
    "Request Header Fields Too Large",
    "HTTP API quotas: total combined size of request line and header values 10240 bytes",
)
INTEGRATION_TIMEOUT = EdgeLimit(
    "integration_timeout", 30, "seconds", 503, "Service Unavailable", "HTTP API quotas: integration timeout 30 s"
)
AUTHORIZER_TIMEOUT = EdgeLimit(
    "authorizer_timeout",
    10,
    "seconds",
    500,
    "Internal Server Error",
    "HTTP API quotas: timeout for Lambda authorizer response 10000 ms",
)

WEBSOCKET_INTEGRATION_TIMEOUT = EdgeLimit(
    "websocket_integration_timeout",
    29,
    "seconds",
    504,
    "Endpoint request timed out",
    "WebSocket API quotas: integration timeout 29 s",
)
WEBSOCKET_MESSAGE = EdgeLimit(
    "websocket_message",
    128 * 1024,
    "bytes",
    413,
    "Payload Too Large",
    "WebSocket API quotas: message payload size 128 KB (PostToConnection's Data too)",
)

LIMITS: tuple[EdgeLimit, ...] = (
    HTTP_API_PAYLOAD,
    LAMBDA_SYNC_PAYLOAD,
    REQUEST_HEADERS,
    INTEGRATION_TIMEOUT,
    AUTHORIZER_TIMEOUT,
    WEBSOCKET_INTEGRATION_TIMEOUT,
    WEBSOCKET_MESSAGE,
)
