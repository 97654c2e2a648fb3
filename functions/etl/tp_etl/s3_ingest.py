"""Ingest one object dropped under `raw/` in the market-data bucket, streamed, in chunks that fit a Lambda.

The object is read as a stream (gzip when its name ends in `.gz` or it says
`Content-Encoding: gzip`), block by block for trades (`tp_etl.trade_columns`)
and row by row through `csv.reader` for the rest: never whole in memory.
Every `chunk_rows` events are delivered (bars stored and everything
published, `tp_etl.delivery`). When the time left after a chunk is less than
`reserve_ms` (at least twice the slowest chunk so far), the function writes a
checkpoint object `raw/_checkpoints/<key>.json` holding the object's ETag and
the next line, and returns: the checkpoint is itself created under `raw/`, so
the bucket notification invokes the function again, which resumes there. To
resume it re-reads (and re-cleans, without publishing) the rows before the
line: the cleaner's state (duplicates, outlier references) and the report's
counts come out exactly as in one pass.

Ids are derived from `s3://bucket/key#etag` and the line, so a retried
invocation (the broker failed mid-way: it raises, and S3's retry runs it again)
publishes each event with the same id and consumers apply it once. When the
whole object is done, its report (counts, rejected rows with line and reason)
is written to `reports/<key>.json`, outside `raw/`.

Per-object options come from the object's metadata (`x-amz-meta-*`): `source`,
`symbol`, `kind`, `tz`, `interval`, `max-jump`, `outliers`. The source defaults
to the folder under `raw/` (`raw/<source>/...`), the symbol to the file name.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import time
import zlib
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError

from tp_etl.delivery import Delivery, deliver_batches
from tp_etl.formats import LayoutError
from tp_etl.ingest import IngestParams
from tp_etl.report import IngestReport
from tp_etl.source_events import Batch
from tp_etl.symbols import symbol_from_filename
from tp_etl.trade_columns import file_batches

RAW_PREFIX = "raw/"
CHECKPOINT_PREFIX = "raw/_checkpoints/"
REPORT_PREFIX = "reports/"
CHUNK_ROWS = 5_000
MIN_RESERVE_MS = 10_000

Outcome = Literal["done", "continued", "stale", "unreadable"]


@dataclass(frozen=True)
class ObjectResult:
    key: str
    outcome: Outcome
    next_line: int | None
    published: int
    report: IngestReport | None


def checkpoint_key(key: str) -> str:
    return f"{CHECKPOINT_PREFIX}{key}.json"


def report_key(key: str) -> str:
    return f"{REPORT_PREFIX}{key.removeprefix(RAW_PREFIX)}.json"


def _params(key: str, metadata: dict[str, str]) -> IngestParams:
    parts = key.removeprefix(RAW_PREFIX).split("/")
    folder = parts[0].lower() if len(parts) > 1 else "s3"
    raw = {k.replace("-", "_"): v for k, v in metadata.items()}
    raw.setdefault("source", folder)
    if "symbol" not in raw and (symbol := symbol_from_filename(key)):
        raw["symbol"] = symbol
    return IngestParams.model_validate(raw)


class _BodyReader(io.RawIOBase):
    """An S3 StreamingBody as a raw binary stream, so the io stack (buffering, gzip, text) can sit on it."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _byte_stream(body: Any, key: str, encoding: str | None) -> io.BufferedIOBase:
    raw = io.BufferedReader(_BodyReader(body), buffer_size=1 << 16)
    if key.endswith(".gz") or encoding == "gzip":
        return gzip.GzipFile(fileobj=raw)
    return raw


class _Chunker:
    """Delivers events in chunks and decides when to stop for a checkpoint."""

    def __init__(self, delivery: Delivery, remaining_ms: Callable[[], int], chunk_rows: int, reserve_ms: int) -> None:
        self.delivery, self.remaining_ms = delivery, remaining_ms
        self.chunk_rows, self.reserve_ms = chunk_rows, reserve_ms
        self.pending: list[Batch] = []
        self.size = 0  # events pending
        self.published = 0
        self.slowest_ms = 0

    def add(self, batch: Batch) -> Batch:
        """Take as much of `batch` as the chunk has room for; returns the rest."""
        room = self.chunk_rows - self.size
        taken, rest = (batch, batch[:0]) if len(batch) <= room else (batch[:room], batch[room:])
        self.pending.append(taken)
        self.size += len(taken)
        return rest

    def full(self) -> bool:
        return self.size >= self.chunk_rows

    def flush(self) -> None:
        started = time.monotonic()
        deliver_batches(self.pending, self.delivery)
        self.published += self.size
        self.pending, self.size = [], 0
        self.slowest_ms = max(self.slowest_ms, int((time.monotonic() - started) * 1000))

    def out_of_time(self) -> bool:
        return self.remaining_ms() < max(self.reserve_ms, 2 * self.slowest_ms)


def _open(s3: Any, bucket: str, key: str) -> tuple[str, int, dict[str, Any]] | ObjectResult:
    """The object to read (the one a checkpoint names, at the same ETag), the line to start delivering at."""
    start_line, etag = 0, None
    if key.startswith(CHECKPOINT_PREFIX):
        checkpoint = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        key, etag, start_line = checkpoint["key"], checkpoint["etag"], int(checkpoint["next_line"])
    try:
        return key, start_line, s3.get_object(Bucket=bucket, Key=key, **({"IfMatch": etag} if etag else {}))
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "NoSuchKey", "412"):
            # Replaced or deleted since the checkpoint: the new object has its own notification.
            s3.delete_object(Bucket=bucket, Key=checkpoint_key(key))
            return ObjectResult(key, "stale", None, 0, None)
        raise


def ingest_object(
    s3: Any,
    bucket: str,
    key: str,
    delivery: Delivery,
    *,
    remaining_ms: Callable[[], int],
    producer: str,
    correlation_id: str | None,
    chunk_rows: int = CHUNK_ROWS,
    reserve_ms: int = MIN_RESERVE_MS,
) -> ObjectResult:
    """Ingest `key` (or continue it, when `key` is one of its checkpoints). Raises StreamUnavailableError
    (so the invocation is retried) when the broker fails; anything wrong with the file itself is reported."""
    opened = _open(s3, bucket, key)
    if isinstance(opened, ObjectResult):
        return opened
    key, start_line, obj = opened
    etag = obj["ETag"]
    identity = f"s3://{bucket}/{key}#{etag}"
    try:
        params = _params(key, obj.get("Metadata") or {})
    except ValidationError as exc:
        return _unreadable(s3, bucket, key, IngestReport("s3"), 0, f"object metadata: {exc.errors()[0]['msg']}")
    report = IngestReport(params.source)
    chunker = _Chunker(delivery, remaining_ms, chunk_rows, reserve_ms)
    stream = _byte_stream(obj["Body"], key, obj.get("ContentEncoding"))
    last_line = 1
    try:
        for batch in file_batches(stream, params.context(), params.kind, params.rules(datetime.now(UTC)), report,
                                  identity=identity, producer=producer, correlation_id=correlation_id):  # fmt: skip
            last_line = batch.lines[-1]
            if batch.lines[0] < start_line:  # delivered by an earlier invocation
                batch = batch[bisect_left(batch.lines, start_line) :]
            while batch:
                if chunker.full():
                    chunker.flush()
                    if chunker.out_of_time():
                        return _continue(s3, bucket, key, etag, batch.lines[0], chunker, report)
                batch = chunker.add(batch)
    except LayoutError as exc:
        report.reject(exc.rejection)
        return _unreadable(s3, bucket, key, report, chunker.published, str(exc))
    except (UnicodeDecodeError, csv.Error, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        chunker.flush()  # the rows before the damage are good
        return _unreadable(s3, bucket, key, report, chunker.published, f"unreadable after line {last_line}: {exc}")
    chunker.flush()
    _finish(s3, bucket, key, report)
    return ObjectResult(key, "done", None, chunker.published, report)


def _continue(
    s3: Any, bucket: str, key: str, etag: str, line: int, chunker: _Chunker, report: IngestReport
) -> ObjectResult:
    body = json.dumps({"key": key, "etag": etag, "next_line": line}).encode()
    s3.put_object(Bucket=bucket, Key=checkpoint_key(key), Body=body, ContentType="application/json")
    return ObjectResult(key, "continued", line, chunker.published, report)


def _finish(s3: Any, bucket: str, key: str, report: IngestReport, error: str | None = None) -> None:
    document = {**report.as_dict(), "key": key, "error": error, "finished_at": datetime.now(UTC).isoformat()}
    s3.put_object(
        Bucket=bucket, Key=report_key(key), Body=json.dumps(document).encode(), ContentType="application/json"
    )
    s3.delete_object(Bucket=bucket, Key=checkpoint_key(key))


def _unreadable(s3: Any, bucket: str, key: str, report: IngestReport, published: int, error: str) -> ObjectResult:
    _finish(s3, bucket, key, report, error)
    return ObjectResult(key, "unreadable", None, published, report)
