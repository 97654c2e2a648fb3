"""`log_aggregator`'s logic: decode subscription deliveries, store their lines, count what went wrong.

Where the lines go is a `LogStore`: PostgreSQL (`ops.logs`) here. A large deployment points the
same decoding at another store by configuration (docs/decisions.md, "Centralized logging").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection
from tradeplane.observability import logger

from tp_logging import partitions
from tp_logging.lines import Parsed, parse
from tp_logging.store import claim, delivery_key, store_rows
from tp_logging.subscription import Delivery, MalformedPayloadError, decode, payload_of

Transaction = Callable[[], AbstractContextManager[Connection[Any]]]


@dataclass
class AggregateResult:
    stored: int = 0
    deliveries: int = 0
    control_messages: int = 0
    duplicate_deliveries: int = 0
    malformed_payloads: int = 0
    rejected_events: int = 0  # log events without a string message or integer timestamp
    refused_rows: int = 0  # rows PostgreSQL would not take
    lines_by_service: dict[str, int] = field(default_factory=dict)
    errors_by_service: dict[str, int] = field(default_factory=dict)

    def count(self, parsed: Parsed) -> None:
        for service, n in parsed.lines.items():
            self.lines_by_service[service] = self.lines_by_service.get(service, 0) + n
        for service, n in parsed.errors.items():
            self.errors_by_service[service] = self.errors_by_service.get(service, 0) + n


def _decoded(events: Iterable[Any], result: AggregateResult) -> list[tuple[Delivery, Parsed]]:
    out = []
    for i, event in enumerate(events):
        try:
            delivery = decode(payload_of(event))
        except MalformedPayloadError as exc:
            # Reported and skipped: a payload that cannot be decoded never will be, and must not hold up the rest.
            result.malformed_payloads += 1
            logger.error("log delivery skipped", extra={"reason": str(exc), "payload_index": i})
            continue
        if delivery.control:
            result.control_messages += 1
            continue
        parsed = parse(delivery)
        result.rejected_events += parsed.rejected
        out.append((delivery, parsed))
    return out


def aggregate(events: Iterable[Any], transaction: Transaction) -> AggregateResult:
    """Store the lines of every decodable subscription event (`{"awslogs": {"data": ...}}`) in ops.logs.

    Each delivery is stored once however often it arrives; one that cannot be decoded is
    reported and skipped, and the others of the batch are stored all the same.
    """
    result = AggregateResult()
    decoded = _decoded(events, result)
    days = {row[0].date() for _, parsed in decoded for row in parsed.rows}
    if days:
        # Own short transaction: creating a partition locks the parent, which other writers wait for.
        with transaction() as conn:
            partitions.ensure(conn, days)
    if not decoded:
        return result
    with transaction() as conn:
        fresh = []
        for delivery, parsed in decoded:
            if claim(conn, delivery_key(delivery), len(parsed.rows)):
                fresh.append(parsed)
            else:
                result.duplicate_deliveries += 1
        # One COPY for every new delivery's rows: fewer, larger COPYs are what make bulk loading fast.
        result.stored, result.refused_rows = store_rows(conn, [row for parsed in fresh for row in parsed.rows])
        result.deliveries = len(fresh)
        for parsed in fresh:
            result.count(parsed)
    if result.rejected_events or result.refused_rows:
        logger.warning(
            "log lines skipped", extra={"rejected_events": result.rejected_events, "refused_rows": result.refused_rows}
        )
    return result
