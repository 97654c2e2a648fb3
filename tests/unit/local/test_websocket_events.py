"""The local WebSocket API's events parse with Powertools' models of what API Gateway sends, and its route
selection follows `$request.body.action`."""

from __future__ import annotations

import base64

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from tradeplane_local import events
from tradeplane_local.websocket_api import WebSocketApi

PEER = events.WebSocketPeer("abc=", "127.0.0.1", "ua", "127.0.0.1:8080", "local", 1_700_000_000_000, [("Host", "x")])


def test_connect_message_and_disconnect_events_have_aws_shapes() -> None:
    connect = parse(event=events.websocket_event(PEER, "$connect"), model=APIGatewayWebSocketConnectEventModel)
    assert connect.request_context.connection_id == "abc=" and connect.headers == {"Host": "x"}
    text = parse(event=events.websocket_event(PEER, "$default", '{"a":1}'), model=APIGatewayWebSocketMessageEventModel)
    assert text.body == '{"a":1}' and not text.is_base64_encoded and text.request_context.event_type == "MESSAGE"
    binary = events.websocket_event(PEER, "$default", b"\x81\x00")
    assert parse(event=binary, model=APIGatewayWebSocketMessageEventModel).is_base64_encoded
    assert base64.b64decode(binary["body"]) == b"\x81\x00"
    gone = events.websocket_event(PEER, "$disconnect", disconnect=(1006, "gone"))
    parsed = parse(event=gone, model=APIGatewayWebSocketDisconnectEventModel)
    assert parsed.request_context.disconnect_status_code == 1006


def test_route_selection_on_the_action() -> None:
    api = WebSocketApi({"$default": "msg", "listen": "lst"}, lambda name: _Host())  # type: ignore[arg-type,return-value]
    assert api._route_of('{"action":"listen"}') == "listen"
    assert api._route_of('{"action":"authenticate"}') == "$default"
    assert api._route_of(b"\x00not json") == "$default"
    assert api.accepts("/stream") and api.accepts("/stream/") and not api.accepts("/v2/stream")


class _Host:
    class cfg:  # noqa: N801 - FunctionHost's attribute
        max_concurrency = 1
