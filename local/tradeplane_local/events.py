"""Build the exact event shapes AWS hands to Lambda, so handlers cannot tell local from AWS.

Pure functions only: the gateway, pollers and scheduler call these, and unit
tests compare their output with the Powertools parser models.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

ACCOUNT = "000000000000"
REGION = "us-east-1"
API_ID = "local"
CLUSTER_ARN = f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/tradeplane-local/00000000-0000-0000-0000-000000000000-1"

# Content types API Gateway passes as text; anything else arrives base64-encoded.
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/problem+json",
    "application/xml",
    "application/x-www-form-urlencoded",
    "application/javascript",
)


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"


def is_text(content_type: str | None) -> bool:
    return content_type is None or content_type.split(";")[0].strip().lower().startswith(_TEXT_TYPES)


def _joined_headers(headers: Sequence[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """HTTP API v2 lower-cases names and joins repeated headers with commas; cookies go apart."""
    out: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        out[key] = f"{out[key]},{value}" if key in out else value
    return out, cookies


def _query_params(raw: str) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for k, v in parse_qsl(raw, keep_blank_values=True):
        params[k] = f"{params[k]},{v}" if k in params else v
    return params or None


def _request_context(req: HttpRequest, route_key: str, headers: Mapping[str, str], now: float) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT,
        "apiId": API_ID,
        "domainName": headers.get("host", "localhost"),
        "domainPrefix": headers.get("host", "localhost").split(".")[0].split(":")[0],
        "http": {
            "method": req.method,
            "path": req.path,
            "protocol": req.protocol,
            "sourceIp": req.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": uuid.uuid4().hex[:16] + "=",
        "routeKey": route_key,
        "stage": "$default",
        "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }


def http_api_event(
    req: HttpRequest,
    route_key: str,
    path_parameters: Mapping[str, str] | None = None,
    authorizer_context: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """API Gateway HTTP API, payload format 2.0."""
    now = time.time() if now is None else now
    headers, cookies = _joined_headers(req.headers)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": req.path,
        "rawQueryString": req.query,
        "headers": headers,
        "requestContext": _request_context(req, route_key, headers, now),
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    params = _query_params(req.query)
    if params:
        event["queryStringParameters"] = params
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if authorizer_context is not None:
        event["requestContext"]["authorizer"] = {"lambda": dict(authorizer_context)}
    if req.body:
        if is_text(headers.get("content-type")):
            try:
                event["body"] = req.body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(req.body).decode(), True
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(req.body).decode(), True
    return event


def authorizer_event(
    req: HttpRequest, route_key: str, identity: list[str], path_parameters: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A REQUEST authorizer event (payload 2.0) for a Lambda authorizer with simple responses."""
    full = http_api_event(req, route_key, path_parameters)
    method, path = route_key.split(" ", 1)
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/$default/{method}{path}",
        "identitySource": identity,
        "routeKey": route_key,
        "rawPath": full["rawPath"],
        "rawQueryString": full["rawQueryString"],
        "headers": full["headers"],
        "requestContext": full["requestContext"],
        **{k: full[k] for k in ("cookies", "queryStringParameters", "pathParameters") if k in full},
    }


@dataclass(frozen=True)
class KafkaRecord:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


def msk_event(records: Iterable[KafkaRecord], bootstrap: str) -> dict[str, Any]:
    """The MSK event source mapping's event: records grouped by "topic-partition", base64 key/value."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        item: dict[str, Any] = {
            "topic": r.topic,
            "partition": r.partition,
            "offset": r.offset,
            "timestamp": r.timestamp_ms,
            "timestampType": "CREATE_TIME",
            "value": base64.b64encode(r.value or b"").decode(),
            # MSK gives each header as {name: [byte values]}.
            "headers": [{name: list(value)} for name, value in r.headers],
        }
        if r.key is not None:
            item["key"] = base64.b64encode(r.key).decode()
        grouped.setdefault(f"{r.topic}-{r.partition}", []).append(item)
    return {
        "eventSource": "aws:kafka",
        "eventSourceArn": CLUSTER_ARN,
        "bootstrapServers": bootstrap,
        "records": grouped,
    }


def scheduled_event(rule: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


@dataclass(frozen=True)
class LogLine:
    timestamp_ms: int
    message: str


def cloudwatch_logs_event(function: str, stream: str, lines: Sequence[LogLine], subscription: str) -> dict[str, Any]:
    """A CloudWatch Logs subscription delivery: gzip + base64 of the DATA_MESSAGE document."""
    doc = {
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT,
        "logGroup": f"/aws/lambda/{function}",
        "logStream": stream,
        "subscriptionFilters": [subscription],
        "logEvents": [
            {"id": f"{line.timestamp_ms:020d}{i:016d}", "timestamp": line.timestamp_ms, "message": line.message}
            for i, line in enumerate(lines)
        ],
    }
    data = base64.b64encode(gzip.compress(json.dumps(doc).encode())).decode()
    return {"awslogs": {"data": data}}


def http_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Map a handler's return value to an HTTP response the way HTTP API payload 2.0 does."""
    if isinstance(result, dict) and "statusCode" in result:
        status = int(result["statusCode"])
        headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.extend((name, str(v)) for v in values)
        headers.extend(("Set-Cookie", c) for c in result.get("cookies") or [])
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return status, headers, raw
    # Anything else: API Gateway infers a 200 JSON response from the returned value.
    return 200, [("Content-Type", "application/json")], json.dumps(result).encode()


def complete_s3_record(record: dict[str, Any]) -> dict[str, Any]:
    """Fill in the fields real S3 notifications carry and moto's omit, so parsers see AWS's shape."""
    out = dict(record)
    out.setdefault("userIdentity", {"principalId": "AWS:LOCAL"})
    out.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
    out.setdefault(
        "responseElements", {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": uuid.uuid4().hex}
    )
    s3 = dict(out.get("s3") or {})
    bucket = dict(s3.get("bucket") or {})
    bucket.setdefault("ownerIdentity", {"principalId": "LOCAL"})
    s3["bucket"] = bucket
    out["s3"] = s3
    return out


@dataclass(frozen=True)
class WebSocketPeer:
    """One WebSocket connection as API Gateway describes it in every event of that connection."""

    connection_id: str
    source_ip: str
    user_agent: str | None
    domain: str
    stage: str
    connected_at_ms: int
    headers: Sequence[tuple[str, str]] = ()


def websocket_event(
    peer: WebSocketPeer,
    route_key: str,
    body: str | bytes | None = None,
    *,
    disconnect: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """A WebSocket API event: CONNECT (`$connect`), DISCONNECT (`$disconnect`, with `disconnect` = (code,
    reason)) or MESSAGE (any other route key, with the frame's `body`; binary frames base64-encoded)."""
    now = time.time()
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": uuid.uuid4().hex[:16] + "=",
        "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "messageDirection": "IN",
        "stage": peer.stage,
        "connectedAt": peer.connected_at_ms,
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": peer.source_ip, **({"userAgent": peer.user_agent} if peer.user_agent else {})},
        "requestId": uuid.uuid4().hex[:16] + "=",
        "domainName": peer.domain,
        "connectionId": peer.connection_id,
        "apiId": API_ID,
    }
    if event_type == "MESSAGE":
        context["messageId"] = uuid.uuid4().hex[:16] + "="
        binary = isinstance(body, bytes)
        text = base64.b64encode(body).decode() if isinstance(body, bytes) else body
        return {"requestContext": context, "body": text, "isBase64Encoded": binary}
    if disconnect is not None:
        context["disconnectStatusCode"], context["disconnectReason"] = disconnect
    headers: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in peer.headers:
        headers[name] = value  # the WebSocket API keeps header case as sent
        multi.setdefault(name, []).append(value)
    return {"headers": headers, "multiValueHeaders": multi, "requestContext": context, "isBase64Encoded": False}
