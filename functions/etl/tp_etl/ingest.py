"""POST /v1/market-data: a JSON or CSV body, all rows checked before anything is published.

A request is all or nothing: any rejected row refuses the whole request (422,
listing each row's line, field and reason) and nothing is published or stored.
Duplicates and dropped outliers are not errors: they are reported and left out.
Before publishing, the broker must answer (else 503 with Retry-After); a
delivery that still fails half-way answers 503 too, and the client's retry
produces the same event ids (from the feed name, the body's digest and the
line), so consumers apply each event once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from tradeplane.problems import Problem, bad_request, from_validation_error, unprocessable

from tp_etl.cleaning import Cleaner, CleaningRules
from tp_etl.delivery import Delivery, StreamUnavailableError, deliver
from tp_etl.formats import KINDS, Kind, LayoutError, Parsed, Rejection, RowContext, read_items
from tp_etl.models import MAX_CLOCK_SKEW
from tp_etl.pipeline import events
from tp_etl.report import IngestReport
from tp_etl.source_events import Outgoing
from tp_etl.trade_columns import file_events

MAX_BODY_BYTES = 4 * 1024 * 1024  # under Lambda's 6 MB synchronous payload, with room for base64
MAX_ROWS = 50_000
CSV_TYPE = "text/csv"
RETRY_AFTER_S = 5
# JSON sections; `ticks` is the first version's name for trades.
_SECTIONS: dict[str, Kind] = {"trades": "trades", "ticks": "trades", "quotes": "quotes", "bars": "bars"}


class IngestParams(BaseModel):
    """How to read the rows: the query string of a CSV request, the top-level members of a JSON one."""

    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", description="feed name")]
    symbol: Annotated[str | None, Field(max_length=24, description="symbol of rows without one")] = None
    kind: Annotated[Kind | None, Field(description="CSV only: bars, trades or quotes (default: from the header)")] = (
        None
    )
    tz: Annotated[str, Field(max_length=64, description="zone of timestamps without an offset")] = "UTC"
    interval: Annotated[str | None, Field(pattern=r"^[1-9][0-9]{0,2}[mhd]$", description="bars: e.g. 1m, 1d")] = None
    max_jump: Annotated[Decimal | None, Field(gt=0, le=100, description="outlier limit as a fraction, 0.2 = 20%")] = (
        None
    )
    outliers: Literal["flag", "drop"] = "flag"

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return value

    def context(self) -> RowContext:
        return RowContext(symbol=self.symbol, tz=ZoneInfo(self.tz), interval=self.interval)

    def rules(self, now: datetime) -> CleaningRules:
        return CleaningRules(max_jump=self.max_jump, outliers=self.outliers, not_after=now + MAX_CLOCK_SKEW)


@dataclass(frozen=True)
class IngestResult:
    report: IngestReport
    event_ids: list[str]


def broker_unavailable() -> Problem:
    return Problem(
        503,
        slug="broker-unavailable",
        detail="The market data stream is unavailable; nothing was published. Retry later.",
        headers={"Retry-After": str(RETRY_AFTER_S)},
        retry_after_s=RETRY_AFTER_S,
    )


def _params(raw: dict[str, Any]) -> IngestParams:
    try:
        return IngestParams.model_validate(raw)
    except ValidationError as exc:
        raise from_validation_error(exc, "The ingest parameters are not valid.") from None


def _csv_events(text: str, params: IngestParams, report: IngestReport, rules: CleaningRules, *, identity: str,
                producer: str, correlation_id: str | None) -> Iterator[Outgoing]:  # fmt: skip
    try:
        yield from file_events(io.BytesIO(text.encode()), params.context(), params.kind, rules, report,
                               identity=identity, producer=producer, correlation_id=correlation_id)  # fmt: skip
    except csv.Error as exc:
        raise unprocessable(
            "The CSV body cannot be read.", errors=[{"line": "?", "field": "csv", "reason": str(exc)}]
        ) from None


def _json_rows(text: str, query: dict[str, Any]) -> tuple[IngestParams, Iterator[Parsed | Rejection]]:
    body = json.loads(text, parse_float=Decimal)  # the guard has checked it parses
    if not isinstance(body, dict):
        raise unprocessable(
            "The JSON body must be an object.", errors=[{"line": 0, "field": "body", "reason": "not an object"}]
        )
    sections = {name: body.pop(name) for name in list(body) if name in _SECTIONS}
    if "kind" in body:
        raise unprocessable(
            "JSON bodies name their rows by section.",
            errors=[{"line": 0, "field": "kind", "reason": "use trades, quotes or bars"}],
        )
    params = _params({**query, **body})
    if not sections:
        raise unprocessable(
            "Nothing to ingest.", errors=[{"line": 0, "field": "body", "reason": "give trades, quotes or bars"}]
        )
    for name, items in sections.items():
        if not isinstance(items, list):
            raise unprocessable(
                "Each section is a list of rows.", errors=[{"line": 0, "field": name, "reason": "must be a list"}]
            )

    def rows() -> Iterator[Parsed | Rejection]:
        for name, items in sections.items():
            kind = _SECTIONS[name]
            for row in read_items(items, kind, params.context()):
                if isinstance(row, Rejection):
                    row = Rejection(row.line, row.field, row.reason, f"body.{name}.{row.line - 1}.{row.field}")
                yield row

    return params, rows()


def _collect(body: str, rows: Iterator[Parsed | Rejection] | None, params: IngestParams, identity: str,
             now: datetime, *, producer: str,
             correlation_id: str | None) -> tuple[IngestReport, list[Outgoing]]:  # fmt: skip
    """The request's events: JSON rows through the row path, a CSV body (`rows` None) as a file is read."""
    report, rules = IngestReport(params.source), params.rules(now)
    built = (
        _csv_events(body, params, report, rules, identity=identity, producer=producer, correlation_id=correlation_id)
        if rows is None
        else events(rows, Cleaner(rules), report, identity=identity, producer=producer, correlation_id=correlation_id)
    )
    out: list[Outgoing] = []
    for event in built:
        out.append(event)
        if len(out) > MAX_ROWS:
            raise Problem(
                413, slug="too-many-rows", detail=f"A request holds at most {MAX_ROWS} rows; send a file to the bucket."
            )
    return report, out


def ingest_request(
    body: str,
    content_type: str,
    query: dict[str, Any],
    delivery: Delivery,
    *,
    now: datetime,
    producer: str,
    correlation_id: str | None,
) -> IngestResult:
    """Read, clean, then store and publish a request's rows; raises a Problem for anything refused."""
    if len(body.encode()) > MAX_BODY_BYTES:
        raise Problem(
            413, slug="too-large", detail=f"The body is larger than {MAX_BODY_BYTES} bytes; send a file to the bucket."
        )
    if not body.strip():
        raise bad_request("The body is empty: send trades, quotes or bars as JSON or CSV.")
    is_csv = content_type.partition(";")[0].strip().lower() == CSV_TYPE
    rows: Iterator[Parsed | Rejection] | None = None
    if is_csv:
        params = _params(query)
    else:
        params, rows = _json_rows(body, query)
    identity = f"http|{params.source}|{hashlib.sha256(body.encode()).hexdigest()}"
    try:
        report, out = _collect(body, rows, params, identity, now, producer=producer, correlation_id=correlation_id)
    except LayoutError as exc:
        raise unprocessable(
            "The rows' columns cannot be read; nothing was published.", errors=[exc.rejection.as_dict()]
        ) from None
    if report.rejected:
        raise unprocessable(
            f"{report.rejected} row(s) rejected; nothing was published.",
            errors=[r.as_dict() for r in report.rejections],
        )
    try:
        deliver(out, delivery)
    except StreamUnavailableError:
        raise broker_unavailable() from None
    return IngestResult(report, [o.id for o in out])


__all__ = ["KINDS", "Delivery", "IngestParams", "IngestResult", "broker_unavailable", "ingest_request"]
