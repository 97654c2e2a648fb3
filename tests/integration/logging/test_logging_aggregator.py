"""log_aggregator, GET /v1/logs, the order trace and retention, against a real PostgreSQL."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, date, datetime, timedelta
from types import ModuleType
from typing import Any

import psycopg
import pytest
from support.handlers import LambdaContext, load_handler
from support.routes import call
from tp_logging import partitions
from tp_logging.retention import apply_retention
from tradeplane_local import events
from tradeplane_tools.manifest import Bindings
from tradeplane_tools.migrate import apply_migrations

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
ADMIN = {"sub": "ops-1", "scope": "admin"}


@pytest.fixture(scope="module")
def logs_dsn(pg_dsn: str) -> str:
    apply_migrations(pg_dsn)
    return pg_dsn


@pytest.fixture
def aggregator(monkeypatch: pytest.MonkeyPatch, logs_dsn: str) -> ModuleType:
    partitions.forget(list(partitions._known))  # a fresh container: it knows no partitions yet
    return load_handler("log_aggregator", monkeypatch, Bindings(stage="local", db_dsn=logs_dsn))


def line(message: str, *, ms: int, correlation: str | None = None, level: str = "INFO", **keys: Any) -> dict[str, Any]:
    doc = {
        "level": level,
        "message": message,
        "timestamp": "x",
        "service": keys.pop("service", "core"),
        "function_name": keys.pop("function", "orders_submit"),
        "function_request_id": keys.pop("request_id", "req-1"),
        "cold_start": False,
        **({"correlation_id": correlation} if correlation else {}),
        **keys,
    }
    return {"ts": ms, "message": json.dumps(doc)}


def subscription(lines: list[dict[str, Any]], function: str = "orders_submit", stream: str = "s1") -> dict[str, Any]:
    logged = [events.LogLine(item["ts"], item["message"]) for item in lines]
    return events.cloudwatch_logs_event(function, stream, logged, "log_aggregator-subscription")


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def count(dsn: str, where: str = "true", params: tuple[Any, ...] = ()) -> int:
    with psycopg.connect(dsn) as c:
        row = c.execute(f"select count(*) from ops.logs where {where}", params).fetchone()
    assert row is not None
    return int(row[0])


def test_lines_are_stored_once_even_when_a_delivery_is_retried(aggregator: ModuleType, logs_dsn: str) -> None:
    t = ms(NOW)
    event = subscription(
        [
            {"ts": t, "message": "START RequestId: req-r Version: $LATEST"},
            line("accepted", ms=t + 1, correlation="flow-retry", request_id="req-r"),
            {"ts": t + 2, "message": "plain text with Bearer abc.def.ghi-secret"},
        ]
    )
    first = aggregator.handler(event, LambdaContext("log_aggregator"))
    again = aggregator.handler(event, LambdaContext("log_aggregator"))
    assert first["stored"] == 3 and again == {**again, "stored": 0, "duplicate_deliveries": 1}
    assert count(logs_dsn, "correlation_id = 'flow-retry'") == 2  # the JSON line and its request's START line
    assert count(logs_dsn, "message like '%%abc.def.ghi-secret%%'") == 0  # plain lines are masked here


NUL_JSON = '{"message": "nul \\u0000 inside", "correlation_id": "flow-garbage"}'


def test_partial_garbage_never_blocks_the_rest_of_the_batch(aggregator: ModuleType, logs_dsn: str) -> None:
    from tp_logging.aggregate import aggregate
    from tradeplane import db

    t = ms(NOW)
    good = subscription([line("good one", ms=t, correlation="flow-garbage")], stream="g1")
    also_good = subscription([line("good two", ms=t + 1, correlation="flow-garbage")], stream="g2")
    doc = {
        "messageType": "DATA_MESSAGE",
        "logGroup": "/aws/lambda/orders_submit",
        "logStream": "g3",
        "logEvents": [
            {"id": "a", "timestamp": t + 2, "message": NUL_JSON},
            {"id": "b", "timestamp": "not a time", "message": "x"},
            {"id": "c", "timestamp": t + 3, "message": "bad\x00text"},
        ],
    }  # fmt: skip
    mixed = {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(doc).encode())).decode()}}
    batch = [good, {"awslogs": {"data": "%%%not base64"}}, {"nothing": 1}, mixed, also_good]
    result = aggregate(batch, db.transaction)
    assert (result.malformed_payloads, result.rejected_events, result.stored) == (2, 1, 4)
    assert count(logs_dsn, "correlation_id = 'flow-garbage'") == 3
    assert count(logs_dsn, "log_stream = 'g3' and message = 'badtext'") == 1


def test_a_line_jsonb_refuses_is_kept_without_its_fields(aggregator: ModuleType, logs_dsn: str) -> None:
    from tp_logging.aggregate import aggregate
    from tradeplane import db

    t = ms(NOW)
    lone_surrogate = '{"message": "bad \\ud800 escape", "correlation_id": "flow-refused"}'  # jsonb refuses it
    batch = [
        subscription([line("before", ms=t, correlation="flow-refused")], stream="r1"),
        subscription([{"ts": t + 1, "message": lone_surrogate}, line("after", ms=t + 2, correlation="flow-refused")],
                     stream="r2"),
    ]  # fmt: skip
    result = aggregate(batch, db.transaction)
    assert (result.stored, result.refused_rows) == (3, 0)
    with psycopg.connect(logs_dsn) as c:
        rows = c.execute(
            "select message, fields is null from ops.logs where correlation_id = 'flow-refused' order by ts"
        ).fetchall()
    assert [tuple(r) for r in rows] == [("before", False), ("bad ? escape", True), ("after", False)]


def test_the_handler_reports_a_malformed_event_and_returns(aggregator: ModuleType) -> None:
    result = aggregator.handler({"awslogs": {"data": "H4sI not really"}}, LambdaContext("log_aggregator"))
    assert result["malformed_payloads"] == 1 and result["stored"] == 0


def test_a_day_partition_is_created_on_demand(aggregator: ModuleType, logs_dsn: str) -> None:
    old = NOW - timedelta(days=40)
    aggregator.handler(subscription([line("from long ago", ms=ms(old))], stream="old"), LambdaContext("a"))
    with psycopg.connect(logs_dsn) as c:
        assert partitions.name_of(old.date()) in partitions.existing(c).values()
        row = c.execute("select tableoid::regclass::text from ops.logs where message = 'from long ago'").fetchone()
    assert row is not None and row[0] == f"ops.{partitions.name_of(old.date())}"


# --------------------------------------------------------------------------- GET /v1/logs


@pytest.fixture
def logs_api(monkeypatch: pytest.MonkeyPatch, logs_dsn: str, redis_url: str) -> ModuleType:
    bindings = Bindings(stage="local", db_dsn=logs_dsn, db_read_dsn=logs_dsn, redis_url=redis_url)
    return load_handler("logs_query", monkeypatch, bindings)


@pytest.fixture(scope="module")
def seeded(logs_dsn: str) -> str:
    """Lines of two services and two flows; a separate module-level delivery."""
    from tp_logging.aggregate import aggregate
    from tradeplane import db

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TP_DB_DSN", logs_dsn)
        from support.reset import reset_all

        reset_all()
        t = ms(NOW - timedelta(minutes=5))
        lines = [
            line(f"step {i}", ms=t + i, correlation="flow-q", level="ERROR" if i == 3 else "INFO", account_id="acct-q")
            for i in range(7)
        ]
        lines.append(line("tick batch", ms=t + 10, correlation="flow-other", service="etl", function="bar_aggregator"))
        aggregate([subscription(lines, stream="seed")], db.transaction)
        reset_all()
    return logs_dsn


def get(module: ModuleType, query: str, who: dict[str, str] | None = None) -> Any:
    return call(module, "GET /v1/logs", "/v1/logs", query=query, authorizer=who or ADMIN)


def test_logs_need_the_admin_scope(logs_api: ModuleType, seeded: str) -> None:
    assert get(logs_api, "", {"sub": "u", "scope": "trading"}).status == 403
    assert call(logs_api, "GET /v1/logs", "/v1/logs", authorizer={}).status == 401


def test_filters_and_cursor_pages(logs_api: ModuleType, seeded: str) -> None:
    answer = get(logs_api, "correlation_id=flow-q&limit=3")
    assert answer.status == 200 and answer.headers["x-correlation-id"]
    assert answer.headers["x-ratelimit-limit"] == "200"  # searches count against the caller's bucket
    pages, body = [], answer.json()
    while True:
        pages.append([entry["message"] for entry in body["lines"]])
        if body["next_cursor"] is None:
            break
        body = get(logs_api, f"correlation_id=flow-q&limit=3&cursor={body['next_cursor']}").json()
    assert pages == [["step 6", "step 5", "step 4"], ["step 3", "step 2", "step 1"], ["step 0"]]
    assert [e["message"] for e in get(logs_api, "level=error&service=core").json()["lines"]] == ["step 3"]
    assert [e["message"] for e in get(logs_api, "function=bar_aggregator").json()["lines"]] == ["tick batch"]
    assert len(get(logs_api, "account_id=acct-q").json()["lines"]) == 7
    assert [e["message"] for e in get(logs_api, "q=STEP 5").json()["lines"]] == ["step 5"]
    assert get(logs_api, "q=100%25").json()["lines"] == []  # % is a literal, not a wildcard
    since, until = ((NOW + timedelta(hours=h)).isoformat().replace("+00:00", "Z") for h in (1, 2))
    assert get(logs_api, f"since={since}&until={until}").json()["lines"] == []


def test_ascending_pages_keep_a_cursor_to_follow(logs_api: ModuleType, seeded: str) -> None:
    body = get(logs_api, "correlation_id=flow-q&order=asc&limit=10").json()
    assert [e["message"] for e in body["lines"]][:2] == ["step 0", "step 1"] and body["next_cursor"]
    after = get(logs_api, f"correlation_id=flow-q&order=asc&cursor={body['next_cursor']}").json()
    assert after == {"lines": [], "next_cursor": body["next_cursor"]}


@pytest.mark.parametrize(
    "query", ["level=LOUD", "limit=0", "limit=5000", "cursor=garbage", "since=2026-01-01", "unknown=1",
              "since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z"],
)  # fmt: skip
def test_bad_queries_are_422(logs_api: ModuleType, seeded: str, query: str) -> None:
    assert get(logs_api, query).status == 422


# --------------------------------------------------------------------------- GET /v1/orders/{id}/trace


@pytest.fixture
def trace_api(monkeypatch: pytest.MonkeyPatch, logs_dsn: str, redis_url: str) -> ModuleType:
    bindings = Bindings(stage="local", db_dsn=logs_dsn, db_read_dsn=logs_dsn, redis_url=redis_url)
    return load_handler("order_trace", monkeypatch, bindings)


def trace(module: ModuleType, order_id: str, who: dict[str, str]) -> Any:
    path = f"/v1/orders/{order_id}/trace"
    return call(module, "GET /v1/orders/{order_id}/trace", path, path_parameters={"order_id": order_id}, authorizer=who)


def test_an_order_trace_follows_its_flows_in_time_order(
    aggregator: ModuleType, trace_api: ModuleType, logs_dsn: str
) -> None:
    t = ms(NOW - timedelta(minutes=1))
    submit = [
        line("request handled", ms=t + 2, correlation="flow-submit", request_id="r1"),
        line("event published", ms=t + 1, correlation="flow-submit", request_id="r1", order_id="ord-9",
             account_id="acct-9", event_type="order.submitted"),
    ]  # fmt: skip
    updates = ["tu-new-9", "tu-fill-9"]  # the executor's one line for the order's trade updates
    fill = [
        line("filled", ms=t + 5, correlation="flow-submit", service="execution", function="executor", order_id="ord-9"),
        line("unrelated", ms=t + 6, correlation="flow-else", service="execution", function="executor"),
        line("event published", ms=t + 7, correlation="flow-submit", service="execution", function="executor",
             order_id="ord-9", account_id="acct-9", event_type="order.trade_update", event_ids=updates),
    ]  # fmt: skip
    aggregator.handler(subscription(submit, stream="t1"), LambdaContext("a"))
    aggregator.handler(subscription(fill, function="executor", stream="t2"), LambdaContext("a"))
    body = trace(trace_api, "ord-9", ADMIN).json()
    assert [(e["message"], e["kind"]) for e in body["lines"]] == [
        ("event published", "event"),
        ("request handled", "log"),
        ("filled", "log"),
        ("event published", "event"),
    ]
    assert body["lines"][-1]["fields"]["event_ids"] == updates  # every trade update of the order, in order
    assert body["correlation_ids"] == ["flow-submit"]
    owner = {"sub": "trader", "scope": "trading", "account_id": "acct-9"}
    assert trace(trace_api, "ord-9", owner).status == 200
    stranger = {"sub": "other", "scope": "trading", "account_id": "acct-1"}
    assert trace(trace_api, "ord-9", stranger).status == 404  # the same answer as an unknown order
    assert trace(trace_api, "no-such-order", ADMIN).status == 404


# --------------------------------------------------------------------------- retention


def test_retention_drops_old_day_partitions_only(logs_dsn: str) -> None:
    from support.reset import reset_all

    now = datetime(2031, 3, 20, 12, tzinfo=UTC)
    days = [date(2031, 3, d) for d in (1, 5, 6, 7, 20)]
    with psycopg.connect(logs_dsn, autocommit=False) as c:
        partitions.forget(days)
        partitions.ensure(c, days)
        for d in days:
            at = datetime(d.year, d.month, d.day, 6, tzinfo=UTC)
            c.execute(
                "insert into ops.logs (ts, level, service, function_name, message, log_group, log_stream, cw_event_id)"
                " values (%s, 'INFO', 'core', 'f', 'old', 'g', 's', 'e')",
                (at,),
            )
        c.commit()
        result = apply_retention(c, keep_days=14, now=now)  # keeps 2031-03-07 .. 2031-03-20
        c.commit()
        remaining = {d for d in partitions.existing(c) if d.year == 2031}
    # Every older day goes (this module's own days from 2026 included); 2031-03-07 onwards stays.
    assert [d for d in result.dropped if d.year == 2031] == [date(2031, 3, 1), date(2031, 3, 5), date(2031, 3, 6)]
    assert all(d < date(2031, 3, 7) for d in result.dropped)
    assert remaining == {date(2031, 3, 7), date(2031, 3, 20), date(2031, 3, 21), date(2031, 3, 22)}
    assert count(logs_dsn, "ts >= '2031-01-01'") == 2
    reset_all()


def test_retention_handler_runs_on_schedule_event(monkeypatch: pytest.MonkeyPatch, logs_dsn: str) -> None:
    module = load_handler("log_retention", monkeypatch, Bindings(stage="local", db_dsn=logs_dsn))
    result = module.handler(events.scheduled_event("log_retention-0"), LambdaContext("log_retention"))
    today = datetime.now(UTC).date()
    assert str(today + timedelta(days=2)) in result["created"] or (today + timedelta(days=2)) in partitions._known
    assert module.SETTINGS.log_retention_days == 14  # from the manifest's environment
