"""Alpaca's stream protocol as the SDKs speak it, and the replay extension's validation."""

from __future__ import annotations

import json

import pytest
from tp_streaming import frames


def test_replies_are_byte_for_byte_what_the_sdks_read() -> None:
    assert json.loads(frames.authorization(True)) == {
        "stream": "authorization",
        "data": {"status": "authorized", "action": "authenticate"},
    }
    assert json.loads(frames.authorization(False)) == {
        "stream": "authorization",
        "data": {"status": "unauthorized", "action": "authenticate"},
    }
    assert json.loads(frames.listening(["trade_updates"])) == {
        "stream": "listening",
        "data": {"streams": ["trade_updates"]},
    }


@pytest.mark.parametrize(
    "body",
    [
        b'{"action":"authenticate","data":{"key_id":"PK1","secret_key":"s"}}',  # alpaca-py, alpaca-trade-api
        '{"action":"auth","data":{"oauth_token":"t"}}',
        b'{"action":"listen","data":{"streams":["trade_updates"]}}',
    ],
)
def test_sdk_frames_parse(body: str | bytes) -> None:
    assert frames.parse(body).action in ("authenticate", "auth", "listen")


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"action":"subscribe"}', b'{"data":{}}', None])
def test_anything_else_is_a_bad_message(body: bytes | None) -> None:
    with pytest.raises(frames.BadMessageError):
        frames.parse(body)


@pytest.mark.parametrize(
    "since",
    [
        {},
        {"event_id": "8c15da1b-4d05-4527-bd7b-d17a4b36ef18", "time": "2026-01-01T00:00:00Z"},
        {"event_id": "not-a-uuid"},
        {"time": "2026-01-01T00:00:00"},  # no offset: ambiguous
    ],
)
def test_since_needs_exactly_one_unambiguous_cursor(since: dict[str, str]) -> None:
    msg = frames.parse(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"], "since": since}}))
    with pytest.raises(frames.BadMessageError, match="invalid listen"):
        frames.listen_request(msg)


def test_plain_listen_has_no_since_and_unknown_streams_are_kept_for_the_session_to_drop() -> None:
    msg = frames.parse(b'{"action":"listen","data":{"streams":["trade_updates","account_updates"]}}')
    request = frames.listen_request(msg)
    assert request.since is None and request.streams == ["trade_updates", "account_updates"]
    assert {"trade_updates"} == frames.KNOWN_STREAMS


def test_credentials_of_the_wrong_shape_authenticate_nobody() -> None:
    assert frames.credentials(frames.parse(b'{"action":"authenticate","data":{"key_id":5}}')).key_id is None
