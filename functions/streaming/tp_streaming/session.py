"""One WebSocket connection's messages: Alpaca's `authenticate` and `listen`, replay. (`$connect` and `$disconnect`
are `connections.open_connection` and `connections.remove`, which their handlers import alone: this module's
imports, the database and token code, would slow every cold `$connect`.)

Every reply goes out through the management API (PostToConnection), in order, so
the one reply to `authenticate` is always the first frame a client reads after it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tradeplane.authorization import Lookups, TokenPolicy, authorize
from tradeplane.observability import logger

from tp_streaming import connections, frames, replay, updates
from tp_streaming.sender import Sender

STREAM_SCOPE = "trading:read"
Outcome = Literal["authorized", "unauthorized", "listening", "replayed", "bad", "gone"]


@dataclass(frozen=True)
class Authenticator:
    """What checking a credential needs: the JWT keyset (loaded only for a token: an API key is checked against
    the database) and policy, and the cached key lookups."""

    keyset: Callable[[], Mapping[str, Any]]
    policy: TokenPolicy
    lookups: Lookups

    def account_of(self, creds: frames.Credentials, source_ip: str) -> tuple[str, str] | None:
        """(account id, subject) for a valid credential bound to one account with the stream's scope."""
        keyset: Mapping[str, Any] = {}
        if creds.key_id:
            headers = {"apca-api-key-id": creds.key_id, "apca-api-secret-key": creds.secret_key or ""}
        elif creds.oauth_token:
            headers, keyset = {"authorization": f"Bearer {creds.oauth_token}"}, self.keyset()
        else:
            return None
        decision = authorize(headers, source_ip, keyset=keyset, policy=self.policy, lookups=self.lookups)
        ctx = decision.context
        if not decision.allowed or not ctx.get("sub") or not ctx.get("account_id"):
            logger.info("stream authentication refused", extra={"reason": decision.reason or "no account"})
            return None
        if STREAM_SCOPE not in str(ctx.get("scope", "")).split():
            logger.info("stream authentication refused", extra={"reason": f"no {STREAM_SCOPE} scope"})
            return None
        return str(ctx["account_id"]), str(ctx["sub"])


@dataclass(frozen=True)
class Incoming:
    connection_id: str
    body: str | None
    is_base64: bool
    source_ip: str

    def raw(self) -> bytes:
        if self.body is None:
            return b""
        return base64.b64decode(self.body) if self.is_base64 else self.body.encode()


def handle_message(msg: Incoming, auth: Authenticator, sender: Sender) -> Outcome:
    """Answer one client frame; bad input is answered with an error frame and changes nothing."""
    cid = msg.connection_id
    try:
        parsed = frames.parse(msg.raw())
    except frames.BadMessageError as exc:
        return "gone" if sender.post(cid, frames.error(str(exc))) == "gone" else "bad"
    conn = connections.get(cid)
    if conn is None:  # its keys expired while it idled: it starts over
        connections.open_connection(cid)
        conn = connections.Connection(cid, "open", None, ())
    if parsed.action in ("authenticate", "auth"):
        return _authenticate(conn, frames.credentials(parsed), msg.source_ip, auth, sender)
    if conn.account_id is None:
        sender.post(cid, frames.authorization(False, "listen"))
        return "unauthorized"
    try:
        request = frames.listen_request(parsed)
    except frames.BadMessageError as exc:
        sender.post(cid, frames.error(str(exc)))
        return "bad"
    return _listen(conn, request, sender)


def _authenticate(
    conn: connections.Connection, creds: frames.Credentials, source_ip: str, auth: Authenticator, sender: Sender
) -> Outcome:
    cid = conn.connection_id
    found = auth.account_of(creds, source_ip)
    if found is None:
        # Alpaca's refusal: one `unauthorized` reply to `authenticate`, then the server closes the socket.
        sender.post(cid, frames.authorization(False))
        sender.close(cid)
        connections.remove(cid)
        return "unauthorized"
    account_id, subject = found
    if conn.account_id not in (None, account_id):
        connections.listen(conn, [], replaying=False)  # another account now: the old one's streams end
    connections.authenticate(cid, account_id, subject)
    sender.post(cid, frames.authorization(True))
    return "authorized"


def _listen(conn: connections.Connection, request: frames.Listen, sender: Sender) -> Outcome:
    cid = conn.connection_id
    streams = [s for s in dict.fromkeys(request.streams) if s in frames.KNOWN_STREAMS]
    if request.since is None or frames.TRADE_UPDATES not in streams:
        connections.listen(conn, streams, replaying=False)
        sender.post(cid, frames.listening(streams))
        return "listening"
    assert conn.account_id is not None
    try:
        start = replay.start_seq(conn.account_id, request.since)
    except replay.UnknownCursorError:
        sender.post(cid, frames.error("since.event_id is not an event of this account"))
        return "bad"
    # Live events are buffered from here on; everything committed before is in the outbox read below.
    connections.listen(conn, streams, replaying=True)
    sender.post(cid, frames.listening(streams, replay={"since": request.since.model_dump(exclude_none=True)}))
    for page in replay.pages_after(conn.account_id, start):
        if not _deliver(cid, updates.frames_for(updates.parsed(page)), sender):
            return "gone"
    while pending := connections.drain(cid):
        if not _deliver(cid, pending, sender):
            return "gone"
    return "replayed"


def _deliver(cid: str, items: Sequence[tuple[str, bytes]], sender: Sender) -> bool:
    """Send the frames this connection has not had yet, in order; False when it is gone."""
    fresh = connections.mark_sent(cid, [event_id for event_id, _ in items])
    for (_, frame), new in zip(items, fresh, strict=True):
        if new and sender.post(cid, frame) == "gone":
            connections.remove(cid)
            return False
    return True
