"""What one routed account's venue secret holds; kept apart from the Alpaca adapter so that reading and
checking a secret (the router, the stream follower) does not import alpaca-py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Credentials:
    """What one account's venue secret holds (JSON: key_id, secret_key, base_url, optional stream_url)."""

    key_id: str
    secret_key: str
    base_url: str
    stream_url: str | None = None  # the trade_updates WebSocket; default: `/stream` on the REST host, as Alpaca

    @classmethod
    def from_secret(cls, value: Mapping[str, Any]) -> Credentials:
        stream = value.get("stream_url")
        return cls(
            str(value["key_id"]),
            str(value["secret_key"]),
            str(value["base_url"]).rstrip("/"),
            str(stream) if stream else None,
        )

    def trade_stream_url(self) -> str:
        """Where the broker's `trade_updates` are: alpaca-trade-api's rule (ws(s) on the REST host, `/stream`)."""
        if self.stream_url:
            return self.stream_url
        scheme, _, rest = self.base_url.partition("://")
        host = rest.split("/", 1)[0]
        return f"{'wss' if scheme == 'https' else 'ws'}://{host}/stream"
