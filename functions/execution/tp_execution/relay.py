"""The outbox relay: publishes committed outbox rows that nobody published (the writer died after its commit).

Rows are taken in the order they were written (`seq`) with `for update skip locked`, so two relays never publish
the same row at once, and only rows older than `min_age_s`, so the writer that is about
to publish a fresh row is not raced. A row is marked published only after Kafka
acknowledged it. Publishing twice is harmless: consumers dedupe on the envelope id,
which is the row's id.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeplane import db, kafka_producer
from tradeplane.envelope import Envelope

_PENDING = """
select id, topic, key, envelope from trading.outbox
where published_at is null and created_at <= now() - make_interval(secs => %s)
order by seq limit %s for update skip locked
"""


@dataclass(frozen=True)
class RelayResult:
    published: int
    more: bool  # the batch was full: there may be older rows left


def relay_pending(*, min_age_s: float = 10.0, limit: int = 500) -> RelayResult:
    """Publish up to `limit` unpublished rows and mark them, in one transaction (rolled back if Kafka fails)."""
    with db.transaction() as conn:
        rows = conn.execute(_PENDING, (min_age_s, limit)).fetchall()
        for row in rows:
            kafka_producer.publish(row["topic"], row["key"], Envelope.model_validate(row["envelope"]))
        if rows:
            kafka_producer.flush()
            conn.execute(
                "update trading.outbox set published_at = now() where id = any(%s)", ([r["id"] for r in rows],)
            )
    return RelayResult(len(rows), len(rows) == limit)
