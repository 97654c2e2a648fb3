"""The transactional outbox: stage an event with the change, publish it right after the commit.

Staging writes the envelope in the same transaction as the order, so the event
exists exactly when the order does. Publishing after the commit gives the common
path no relay delay; a failure to publish is logged and left for execution's
`outbox_relay` (it publishes unmarked rows; consumers dedupe on the envelope id),
so the client is never answered 5xx (or 504, which the SDKs would resend) for an
order that is already accepted. The Core API stages order intents here; execution
stages its trade updates the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from psycopg import Connection

from tradeplane.envelope import Envelope


@dataclass(frozen=True)
class Staged:
    topic: str
    key: str
    envelope: Envelope


Also = tuple[str, tuple[Any, ...]]


def stage(
    conn: Connection[Any],
    topic: str,
    key: str,
    envelope: Envelope,
    *,
    also: Also | Sequence[Also] | None = None,
) -> Staged:
    """Write the event; `also` is one or more writes sent in the same round trip (data-modifying CTEs,
    positional `%s` parameters)."""
    sql = "insert into trading.outbox (id, topic, key, envelope) values (%s, %s, %s, %s)"
    params: tuple[Any, ...] = (envelope.id, topic, key, envelope.to_json().decode())
    if also:
        writes = [cast(Also, also)] if isinstance(also[0], str) else cast(Sequence[Also], also)
        ctes = ", ".join(f"also{i} as ({w[0]})" for i, w in enumerate(writes))
        sql = f"with {ctes} {sql}"
        params = (*(p for w in writes for p in w[1]), *params)
    conn.execute(sql, params)
    return Staged(topic, key, envelope)


# Many events in one statement: the envelopes travel as ONE JSON array (their JSON joined, nothing escaped), so
# the server parses and plans the insert once instead of once per row (statements are never prepared: RDS
# Proxy). Rows are inserted in the array's order, so `seq` (identity) follows it. The id, topic and key arrays go
# in binary (`%b`): psycopg quotes each element of a text array literal in Python.
_STAGE_MANY = """
insert into trading.outbox (id, topic, key, envelope)
select v.id, v.topic, v.key, e.envelope
from unnest(%b::uuid[], %b::text[], %b::text[]) with ordinality as v(id, topic, key, n)
join jsonb_array_elements(%s::jsonb) with ordinality as e(envelope, n) using (n)
order by n
"""


def stage_many(conn: Connection[Any], rows: Sequence[tuple[str, str, Envelope]]) -> list[Staged]:
    """Write many events (topic, key, envelope) in one statement, in order (their `seq` follows it)."""
    if rows:
        envelopes = b"[" + b",".join(env.to_json() for _, _, env in rows) + b"]"
        conn.execute(
            _STAGE_MANY,
            ([env.id for _, _, env in rows], [t for t, _, _ in rows], [k for _, k, _ in rows], envelopes.decode()),
        )
    return [Staged(topic, key, env) for topic, key, env in rows]


def publish(staged: Sequence[Staged], conn: Connection[Any] | None = None, flush_timeout_s: float = 2.0) -> bool:
    """Publish committed events and mark them (on `conn` when given); False (logged) when Kafka did not ack in time."""
    if not staged:
        return True
    from tradeplane import db, kafka_producer
    from tradeplane.observability import logger

    try:
        kafka_producer.publish_events([(item.topic, item.key, item.envelope) for item in staged])
        kafka_producer.flush(timeout=flush_timeout_s)
    except Exception:  # noqa: BLE001 - the relay covers it; the order is already committed
        logger.exception("outbox publish failed; left for the relay", extra={"events": [s.envelope.id for s in staged]})
        return False
    mark = "update trading.outbox set published_at = now() where id = any(%b::uuid[])"
    ids = [s.envelope.id for s in staged]
    if conn is not None:
        with conn.transaction():
            conn.execute(mark, (ids,))
    else:
        with db.transaction() as own:
            own.execute(mark, (ids,))
    return True
