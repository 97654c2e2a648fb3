"""Alpaca's trading stream protocol: what clients send and the frames they read.

Clients send `{"action": "authenticate", "data": {"key_id", "secret_key"}}` (or an
`oauth_token`) and read exactly one reply, then `{"action": "listen", "data":
{"streams": [...]}}`. Trade updates arrive as `{"stream": "trade_updates", "data":
{...}}`. `listen` may carry Tradeplane's replay extension, `data.since`, which plain
Alpaca clients never send (docs/streaming.md).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from tradeplane.envelope import jsonable

TRADE_UPDATES: Final = "trade_updates"
KNOWN_STREAMS: Final = frozenset({TRADE_UPDATES})


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Credentials(_Loose):
    key_id: str | None = Field(default=None, max_length=128)
    secret_key: str | None = Field(default=None, max_length=256)
    oauth_token: str | None = Field(default=None, max_length=8192)


class Since(_Loose):
    """Replay from after this event (an `event_id` a trade update carried) or from this time on."""

    event_id: UUID | None = None
    time: datetime | None = None

    @model_validator(mode="after")
    def _one(self) -> Since:
        if (self.event_id is None) == (self.time is None):
            raise ValueError("since needs exactly one of event_id or time")
        if self.time is not None and self.time.utcoffset() is None:
            raise ValueError("since.time needs a UTC offset")
        return self


class Listen(_Loose):
    streams: list[str] = Field(default_factory=list, max_length=16)
    since: Since | None = None


class ClientMessage(_Loose):
    action: Literal["authenticate", "auth", "listen"]
    data: dict[str, Any] = Field(default_factory=dict)


class BadMessageError(ValueError):
    """The frame is not JSON or not an action we know; answered with an error frame, nothing changes."""


def parse(body: str | bytes | None) -> ClientMessage:
    try:
        return ClientMessage.model_validate(json.loads(body or b""))
    except (ValueError, ValidationError, TypeError):
        raise BadMessageError("invalid syntax") from None


def credentials(message: ClientMessage) -> Credentials:
    try:
        return Credentials.model_validate(message.data)
    except ValidationError:
        return Credentials()


def listen_request(message: ClientMessage) -> Listen:
    try:
        return Listen.model_validate(message.data)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        raise BadMessageError(f"invalid listen: {'.'.join(map(str, first['loc']))}: {first['msg']}"[:200]) from None


def encode(frame: dict[str, Any]) -> bytes:
    return json.dumps(jsonable(frame), separators=(",", ":")).encode()


def authorization(authorized: bool, action: str = "authenticate") -> bytes:
    """Alpaca's one reply to `authenticate` (and its answer to `listen` before one succeeded)."""
    status = "authorized" if authorized else "unauthorized"
    return encode({"stream": "authorization", "data": {"status": status, "action": action}})


def listening(streams: list[str], replay: dict[str, Any] | None = None) -> bytes:
    data: dict[str, Any] = {"streams": streams}
    if replay is not None:
        data["replay"] = replay
    return encode({"stream": "listening", "data": data})


def error(message: str) -> bytes:
    return encode({"stream": "error", "data": {"error": message}})


def trade_update(data: dict[str, Any]) -> bytes:
    return encode({"stream": TRADE_UPDATES, "data": data})
