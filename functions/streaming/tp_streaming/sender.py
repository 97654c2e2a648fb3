"""Frames to connections through the API Gateway management API (PostToConnection), bounded in time.

Each connection's frames go in order on one thread of a small pool, so connections
are served side by side and a slow one holds only its own thread, for at most the
client's connect + read timeouts per frame (no SDK retries). A 410 (GoneException)
means the client left; anything else is a failed send, logged and counted, never
raised: the Kafka batch must not be retried for everyone because one client failed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from tradeplane.observability import logger

Outcome = Literal["sent", "gone", "failed"]
WORKERS = 8


@dataclass
class Delivery:
    """What happened to each connection's frames: how many were sent, and how it ended."""

    sent: dict[str, int] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)

    @property
    def frames(self) -> int:
        return sum(self.sent.values())


class Sender:
    def __init__(self, endpoint: str, connect_timeout_s: float, read_timeout_s: float, workers: int = WORKERS) -> None:
        self.endpoint, self.workers = endpoint, workers
        self.timeouts = (connect_timeout_s, read_timeout_s)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="post")
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The management API client, made on first use (boto3 clients are thread-safe once made)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(
                connect_timeout=self.timeouts[0],
                read_timeout=self.timeouts[1],
                retries={"total_max_attempts": 1},
                max_pool_connections=self.workers,
                parameter_validation=False,  # the frames are ours; validation is CPU spent per post
            )
            self._client = boto3.client("apigatewaymanagementapi", endpoint_url=self.endpoint, config=config)
        return self._client

    def post(self, connection_id: str, frame: bytes) -> Outcome:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=frame)
        except self.client.exceptions.GoneException:
            return "gone"
        except (BotoCoreError, ClientError) as exc:
            logger.warning(
                "post to connection failed", extra={"connection_id": connection_id, "error": repr(exc)[:300]}
            )
            return "failed"
        return "sent"

    def _post_in_order(self, connection_id: str, frames: Sequence[bytes]) -> tuple[int, Outcome]:
        for i, frame in enumerate(frames):
            outcome = self.post(connection_id, frame)
            if outcome != "sent":
                return i, outcome  # the rest would arrive out of order after a gap: the client replays instead
        return len(frames), "sent"

    def post_all(self, frames_by_connection: Mapping[str, Sequence[bytes]]) -> Delivery:
        _ = self.client  # made here, once, not by several pool threads at the same time (an assert vanishes under -O)
        futures = {cid: self.pool.submit(self._post_in_order, cid, fs) for cid, fs in frames_by_connection.items()}
        delivery = Delivery()
        for cid, future in futures.items():
            count, outcome = future.result()
            delivery.sent[cid] = count
            if outcome == "gone":
                delivery.gone.add(cid)
            elif outcome == "failed":
                delivery.failed.add(cid)
        return delivery

    def close(self, connection_id: str) -> None:
        """Close a connection from the server's side (a refused `authenticate`, as Alpaca does)."""
        from botocore.exceptions import BotoCoreError, ClientError

        with contextlib.suppress(BotoCoreError, ClientError):  # already gone
            self.client.delete_connection(ConnectionId=connection_id)
