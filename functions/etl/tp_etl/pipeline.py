"""Parsed rows -> cleaned rows -> events, one row at a time, counting everything in a report."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tp_etl.cleaning import Clean, Cleaner
from tp_etl.formats import Parsed, Rejection
from tp_etl.report import IngestReport
from tp_etl.source_events import EventWriter, Outgoing


def cleaned(rows: Iterable[Parsed | Rejection], cleaner: Cleaner, report: IngestReport) -> Iterator[Clean]:
    for row in rows:
        if isinstance(row, Rejection):
            report.reject(row)
            continue
        result = cleaner.check(row)
        if isinstance(result, tuple):
            result, notice = result
            report.note(notice)
        if isinstance(result, Clean):
            report.accepted[result.kind] += 1
            yield result
        elif isinstance(result, Rejection):
            report.reject(result)
        else:
            report.note(result)


def events(
    rows: Iterable[Parsed | Rejection],
    cleaner: Cleaner,
    report: IngestReport,
    *,
    identity: str,
    producer: str,
    correlation_id: str | None,
) -> Iterator[Outgoing]:
    write = EventWriter(identity=identity, source=report.source, producer=producer, correlation_id=correlation_id).write
    for row in cleaned(rows, cleaner, report):
        yield write(row)
