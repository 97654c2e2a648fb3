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

from tradeplane.contracts.trade_updates import TradeUpdate
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
    accounts = [str(e.data_as(TradeUpdate).account_id) for e in events]
    listening = connections.listeners(sorted(set(accounts)))
    wanted = [(e, a) for e, a in zip(events, accounts, strict=True) if listening.get(a)]
    if not wanted:
        return FanoutResult(len(events), 0, 0, 0, 0, 0)  # nobody listens: no book read, no Redis writes
    built = updates.frames_for([e for e, _ in wanted])
    pairs = [(cid, e.id, frame) for (e, frame), (_, a) in zip(built, wanted, strict=True) for cid in listening[a]]
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
