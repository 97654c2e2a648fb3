"""ingest_s3's logic against moto's S3: streaming, gzip, chunks with checkpoints, retries, reports."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tp_etl import trade_columns
from tp_etl.delivery import Delivery, StreamUnavailableError
from tp_etl.s3_ingest import CHECKPOINT_PREFIX, checkpoint_key, ingest_object, report_key
from tp_etl.source_events import Outgoing, Record
from tradeplane.envelope import Envelope

BUCKET = "market-data-test"


class Sink:
    """A broker stand-in; `records=True` takes batches' records as the live producer does (`publish_records`)."""

    def __init__(self, *, records: bool = False) -> None:
        self.sent: list[tuple[str, str, Envelope]] = []
        self.fail_after: int | None = None  # flushes before the broker "fails"
        self.flushes = 0
        self.records = records

    def publish(self, topic: str, items: Sequence[Outgoing]) -> int:
        self.sent.extend((topic, o.key, o.envelope) for o in items)
        return len(items)

    def publish_records(self, topic: str, records: Sequence[Record], header_bytes: int | None) -> int:
        for key, value, headers in records:
            envelope = Envelope.from_json(value)
            assert dict(headers) == {"type": envelope.type.encode(), "id": envelope.id.encode()}  # the contract's
            assert header_bytes is None or sum(len(k) + len(v) for k, v in dict(headers).items()) <= header_bytes
            self.sent.append((topic, key.decode(), envelope))
        return len(records)

    def flush(self) -> None:
        self.flushes += 1
        if self.fail_after is not None and self.flushes > self.fail_after:
            from tradeplane.kafka_producer import DeliveryError

            raise DeliveryError("broker gone")

    def delivery(self) -> Delivery:
        @contextmanager
        def transaction() -> Iterator[Any]:
            yield None

        records = self.publish_records if self.records else None
        return Delivery(self.publish, self.flush, lambda: True, lambda: 0, transaction, records)  # type: ignore[arg-type]


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr("tp_etl.bar_store.store_imported", lambda conn, bars: len(bars))  # the store: integration tests
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def trades_csv(n: int, bad_lines: Iterable[int] = ()) -> bytes:
    bad = set(bad_lines)
    rows = ["timestamp,price,size,exchange"]
    for i in range(n):
        line = i + 2
        price = "-1" if line in bad else f"{100 + (i % 7)}.{i % 100:02d}"
        rows.append(f"2026-11-24T14:{30 + i // 3600 % 30:02d}:{i // 60 % 60:02d}.{i % 60:06d}Z,{price},{1 + i % 5},V")
    return ("\n".join(rows) + "\n").encode()


def run(s3: Any, key: str, sink: Sink, *, remaining: list[int] | None = None, chunk_rows: int = 50) -> Any:
    clock = iter(remaining or [])
    return ingest_object(
        s3, BUCKET, key, sink.delivery(), remaining_ms=lambda: next(clock, 300_000), producer="ingest_s3",
        correlation_id=None, chunk_rows=chunk_rows, reserve_ms=1_000,
    )  # fmt: skip


def test_gzip_file_is_streamed_in_chunks_with_a_report_of_bad_rows(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="raw/vendor/AAPL_trades.csv.gz", Body=gzip.compress(trades_csv(120, [5, 77])))
    sink = Sink()
    result = run(s3, "raw/vendor/AAPL_trades.csv.gz", sink)
    assert result.outcome == "done" and result.published == 118 and sink.flushes == 3
    assert {(t, k) for t, k, _ in sink.sent} == {("market.ticks", "AAPL")}
    assert sink.sent[0][2].data["source"] == "vendor"
    report = json.loads(s3.get_object(Bucket=BUCKET, Key=report_key("raw/vendor/AAPL_trades.csv.gz"))["Body"].read())
    assert report["accepted_by_kind"] == {"trades": 118} and report["rejected"] == 2
    assert [(r["line"], r["field"]) for r in report["rejections"]] == [(5, "price"), (77, "price")]


def test_a_file_of_only_bad_rows_publishes_nothing_and_says_why(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="raw/MSFT.csv", Body=trades_csv(3, [2, 3, 4]))
    sink = Sink()
    result = run(s3, "raw/MSFT.csv", sink)
    assert result.published == 0 and sink.sent == []
    assert json.loads(s3.get_object(Bucket=BUCKET, Key="reports/MSFT.csv.json")["Body"].read())["rejected"] == 3


def test_unreadable_header_is_reported_not_retried(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="raw/IBM.csv", Body=b"when,what\n1,2\n")
    result = run(s3, "raw/IBM.csv", Sink())
    report = json.loads(s3.get_object(Bucket=BUCKET, Key="reports/IBM.csv.json")["Body"].read())
    assert result.outcome == "unreadable" and report["rejections"][0]["line"] == 1 and "kind" in report["error"]


@pytest.mark.parametrize("block", [1 << 20, 700])  # one block for the file, or blocks of ~10 rows
@pytest.mark.parametrize("records", [False, True])
def test_running_out_of_time_leaves_a_checkpoint_and_the_continuation_finishes_the_file(
    s3: Any, monkeypatch: pytest.MonkeyPatch, block: int, records: bool
) -> None:
    monkeypatch.setattr(trade_columns, "BLOCK_BYTES", block)
    key = "raw/vendor/AAPL.csv"
    s3.put_object(Bucket=BUCKET, Key=key, Body=trades_csv(200, [150]))
    whole = Sink()
    run(s3, key, whole)
    sink = Sink(records=records)
    first = run(s3, key, sink, remaining=[300_000, 500])  # after the second chunk, time is short
    assert first.outcome == "continued" and first.published == 100 and first.next_line == 102
    checkpoint = json.loads(s3.get_object(Bucket=BUCKET, Key=checkpoint_key(key))["Body"].read())
    assert checkpoint["next_line"] == 102 and checkpoint_key(key).startswith(CHECKPOINT_PREFIX)
    rest = run(s3, checkpoint_key(key), sink)  # the checkpoint's own notification
    assert rest.outcome == "done" and rest.published == 99
    # chunked or not, the same events with the same ids, each once; the report covers the whole file
    assert [e.id for _, _, e in sink.sent] == [e.id for _, _, e in whole.sent]
    assert rest.report is not None and rest.report.rejected == 1 and rest.report.total_accepted == 199
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=BUCKET, Key=checkpoint_key(key))


@pytest.mark.parametrize("kind", ["trades", "quotes"])  # the columnar path, the row path
def test_a_damaged_gzip_file_delivers_the_rows_before_the_damage(
    s3: Any, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setattr(trade_columns, "BLOCK_BYTES", 2048)
    body = trades_csv(3000)
    if kind == "quotes":
        lines = body.decode().splitlines()[1:]
        quotes = [f"{ts},{p},1,{p}1,2" for ts, p, *_ in (line.split(",") for line in lines)]
        body = ("\n".join(["timestamp,bid,bid_size,ask,ask_size", *quotes]) + "\n").encode()
    key = f"raw/vendor/AAPL_{kind}.csv.gz"
    packed = gzip.compress(body)
    s3.put_object(Bucket=BUCKET, Key=key, Body=packed[: len(packed) // 2])  # cut short: EOF inside the stream
    sink = Sink(records=True)
    result = run(s3, key, sink, chunk_rows=1000)
    assert result.outcome == "unreadable" and result.published == len(sink.sent) > 500
    assert result.report is not None and result.report.total_accepted == result.published  # none cleaned and lost
    # every row before the damage, in order and once (ids follow the line: compare with the whole file's)
    whole_key = f"raw/vendor/AAPL_{kind}.csv"
    s3.put_object(Bucket=BUCKET, Key=whole_key, Body=body)
    whole = Sink()
    run(s3, whole_key, whole)
    assert [e.data for _, _, e in sink.sent] == [e.data for _, _, e in whole.sent][: len(sink.sent)]


def test_a_checkpoint_of_a_replaced_object_is_dropped(s3: Any) -> None:
    key = "raw/vendor/AAPL.csv"
    s3.put_object(Bucket=BUCKET, Key=key, Body=trades_csv(200))
    run(s3, key, Sink(), remaining=[500])
    s3.put_object(Bucket=BUCKET, Key=key, Body=trades_csv(10))
    assert run(s3, checkpoint_key(key), Sink()).outcome == "stale"


def test_a_broker_failure_raises_and_the_retry_publishes_the_same_ids(s3: Any) -> None:
    key = "raw/vendor/AAPL.csv"
    s3.put_object(Bucket=BUCKET, Key=key, Body=trades_csv(120))
    failing = Sink()
    failing.fail_after = 1
    with pytest.raises(StreamUnavailableError):
        run(s3, key, failing)
    retry = Sink()
    run(s3, key, retry)
    sent_before = [e.id for _, _, e in failing.sent]
    assert sent_before == [e.id for _, _, e in retry.sent][: len(sent_before)]
    assert len({e.id for _, _, e in retry.sent}) == 120


def test_metadata_gives_options_and_bad_metadata_is_reported(s3: Any) -> None:
    body = b"Date,Open,High,Low,Close,Volume\n2026-11-20,10,12,9,11,1000\n"
    s3.put_object(Bucket=BUCKET, Key="raw/daily.csv", Body=body, Metadata={"symbol": "brk/b", "source": "yahoo"})
    sink = Sink()
    run(s3, "raw/daily.csv", sink)
    assert [(t, k, e.data["interval"]) for t, k, e in sink.sent] == [("market.bars", "BRK.B", "1d")]
    s3.put_object(Bucket=BUCKET, Key="raw/x.csv", Body=body, Metadata={"tz": "Nowhere/Land"})
    assert run(s3, "raw/x.csv", Sink()).outcome == "unreadable"
