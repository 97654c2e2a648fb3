"""The `orders.events` consumer: each trade update to its account's listening connections, once each.

Delivery is at least once from Kafka (a retried batch, a relayed outbox row) and at
most once per connection from here: before a frame is posted, its event id is
recorded in the connection's `ws:sent` set in the same Redis step that checks it,
so a repeated event is dropped, and a frame whose post failed is not retried here
(the client recovers it with replay). Failures never raise into the batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from tradeplane.envelope import Envelope

from tp_streaming import connections, updates
from tp_streaming.sender import Sender


@dataclass(frozen=True)
class FanoutResult:
    events: int
    frames_sent: int
    duplicates: int
    buffered: int
    gone: int
    failed: int


def fan_out(events: Sequence[Envelope], sender: Sender) -> FanoutResult:
    parsed = updates.parsed(events)  # once per event, however many connections receive it
    listening = connections.listeners(sorted({str(u.account_id) for _, u in parsed}))
    wanted = [(e, u) for e, u in parsed if listening.get(str(u.account_id))]
    if not wanted:
        return FanoutResult(len(events), 0, 0, 0, 0, 0)  # nobody listens: no book read, no Redis writes
    built = updates.frames_for(wanted)
    pairs = [
        (cid, event_id, frame)
        for (event_id, frame), (_, u) in zip(built, wanted, strict=True)
        for cid in listening[str(u.account_id)]
    ]
    verdicts = connections.route(pairs)
    to_send: dict[str, list[bytes]] = defaultdict(list)
    stale: set[str] = set()
    for (cid, _, frame), verdict in zip(pairs, verdicts, strict=True):
        if verdict == "send":
            to_send[cid].append(frame)
        elif verdict == "gone":
            stale.add(cid)
    delivery = sender.post_all(to_send)
    for cid in delivery.gone | stale:
        connections.remove(cid)
    return FanoutResult(
        events=len(events),
        frames_sent=delivery.frames,
        duplicates=verdicts.count("dup"),
        buffered=verdicts.count("buffered"),
        gone=len(delivery.gone),
        failed=len(delivery.failed),
    )
