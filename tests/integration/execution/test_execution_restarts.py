"""PostgreSQL and the Kafka broker restarted mid-stream: the executor resumes, nothing lost or doubled.

The stream: accepted orders' intents on `orders.submitted`, consumed by the local runtime's
MSK-shaped `KafkaEventSource` (the manifest's batch, retry and dead-letter rules) into the
executor handler. PostgreSQL (the session's server, durable data) is restarted while the
executor's pool holds connections; the broker is a Tansu of this test's own with S3 storage
on moto, because the harness's Tansu keeps memory only and a restart would lose the topic,
which no real broker does. The orders then fill exactly once each.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from support.core_api import Trader
from support.execution import call, eventually, msk_event, outbox_envelopes, query, submit
from tradeplane import db
from tradeplane.contracts.topics import ORDERS_EVENTS, ORDERS_SUBMITTED
from tradeplane_local import servers
from tradeplane_local.host import InvokeResult
from tradeplane_local.kafka_source import KafkaEventSource, SourceConfig
from tradeplane_local.provision import aws_client
from tradeplane_tools.manifest import Bindings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ORDERS = 24


class DurableTansu:
    """Tansu on 127.0.0.1:port storing in an S3 bucket (moto): topics and committed offsets survive a restart."""

    def __init__(self, moto_url: str, state: Path) -> None:
        self.bucket = f"tansu-{uuid.uuid4().hex[:8]}"
        aws_client("s3", moto_url).create_bucket(Bucket=self.bucket)
        self.port, self.log, self.pid = servers.free_port(), state / "tansu-s3.log", 0
        self.env = {
            **os.environ,
            "AWS_ENDPOINT": moto_url,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }
        self.bootstrap = f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://{self.bootstrap}"
        with open(self.log, "ab") as out:
            proc = subprocess.Popen(
                [str(servers.TANSU_BIN), "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", f"s3://{self.bucket}/"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env, start_new_session=True,
            )  # fmt: skip
        self.pid = proc.pid
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=2)
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.2)
        raise RuntimeError(f"tansu did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        servers.stop_pid(self.pid)


@pytest.fixture
def broker(moto_server: Any, tmp_path: Path) -> Iterator[DurableTansu]:
    tansu = DurableTansu(moto_server.url, tmp_path)
    tansu.start()
    admin = AdminClient({"bootstrap.servers": tansu.bootstrap})
    for topic in (ORDERS_SUBMITTED, ORDERS_EVENTS, f"{ORDERS_SUBMITTED}.dlq"):
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(timeout=10)
    yield tansu
    tansu.stop()


def restart_postgres(
    server: servers.Server, state: Path, request: pytest.FixtureRequest, down: Callable[[], None] = lambda: None
) -> None:
    """Stop the session's PostgreSQL, call `down` while it is stopped, start it again on its port over the same data.

    `servers.start_postgres` would move to another port while the old one has TIME_WAIT sockets
    (its probe binds without SO_REUSEADDR); postgres itself binds with it, so it is started directly."""
    servers.stop(server)
    down()
    data = state / "postgres" / "postgres" / "data"
    cmd = [str(servers.PG_BIN / "postgres"), "-D", str(data), "-p", str(server.port)]
    proc = servers._spawn(
        [*cmd, *servers._postgres_options(durable=False)], Path(str(server.log)), user=servers._pg_user()
    )
    request.config.add_cleanup(lambda: servers.stop_pid(proc.pid, sig=signal.SIGINT))
    # The session's server is this process now: a later restart in the session must stop it, not the old pid.
    server.pid = proc.pid

    def up() -> bool:
        try:
            with psycopg.connect(server.url, connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    eventually(up, "PostgreSQL back on its port", 30)


def produce(bootstrap: str, envelopes: list[Any]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for e in envelopes:
        producer.produce(ORDERS_SUBMITTED, key=str(e.data["account_id"]), value=e.to_json())
    assert producer.flush(15) == 0


def executor_source(
    core_env: dict[str, Any],
    broker: DurableTansu,
    log: list[str],
    *,
    group: str,
    retry_backoff_s: float,
    **overrides: str,
) -> KafkaEventSource:
    """The executor handler behind a local MSK-shaped source on `orders.submitted` (3 retries, then the DLQ)."""
    bindings = Bindings(stage="local", db_dsn=core_env["dsn"], kafka_bootstrap=broker.bootstrap,
                        redis_url=core_env["redis_url"])  # fmt: skip

    def invoke(event: dict[str, Any]) -> InvokeResult:
        try:
            return InvokeResult(True, "r", call("executor", bindings, event, **overrides))
        except Exception as error:  # noqa: BLE001 - a failed invocation, as Lambda reports it
            return InvokeResult(False, "r", error={"errorType": type(error).__name__, "errorMessage": str(error)})

    cfg = SourceConfig(
        function="executor", topic=ORDERS_SUBMITTED, group=group, batch_size=4, batching_window_ms=0,
        starting_position="TRIM_HORIZON", max_retries=3, bisect_on_error=False,
        dead_letter_topic=f"{ORDERS_SUBMITTED}.dlq", retry_backoff_s=retry_backoff_s, max_concurrency=1,
    )  # fmt: skip
    return KafkaEventSource(cfg, broker.bootstrap, invoke, log.append)


@dataclass(frozen=True)
class Rig:
    """What a restart test drives: the durable broker, and the session's PostgreSQL to stop and start."""

    broker: DurableTansu
    postgres: servers.Server
    state: Path
    request: pytest.FixtureRequest

    def restart_postgres(self, down: Callable[[], None] = lambda: None) -> None:
        restart_postgres(self.postgres, self.state, self.request, down)


@pytest.fixture
def rig(
    broker: DurableTansu, postgres_server: servers.Server, server_state: Path, request: pytest.FixtureRequest
) -> Rig:
    return Rig(broker, postgres_server, server_state, request)


def test_postgres_and_broker_restarts_mid_stream_lose_and_double_nothing(
    core_env: dict[str, Any], trader: Trader, set_price: Any, rig: Rig
) -> None:
    broker = rig.broker
    dsn = core_env["dsn"]
    set_price("AAPL", "50.00")
    for i in range(ORDERS):
        submit(trader, client_order_id=f"rs-{i}", qty="1")
    intents = outbox_envelopes(dsn, trader.account_id)
    assert len(intents) == ORDERS
    log: list[str] = []
    source = executor_source(core_env, broker, log, group="restart-executor", retry_backoff_s=1.0)
    source.start()

    def filled() -> int:
        rows = query(dsn, "select count(*) as n from trading.orders where account_id = %s and status = 'filled'",
                     uuid.UUID(trader.account_id))  # fmt: skip
        return int(rows[0]["n"])

    try:
        third = ORDERS // 3
        produce(broker.bootstrap, intents[:third])
        eventually(lambda: filled() == third, "the first third filled")
        rig.restart_postgres()  # the executor's pooled connections die
        produce(broker.bootstrap, intents[third : 2 * third])
        eventually(lambda: filled() == 2 * third, "the second third filled after the PostgreSQL restart")
        broker.stop()
        broker.start()  # same port, same storage: topics and the group's committed offsets are back
        produce(broker.bootstrap, intents[2 * third :])
        eventually(lambda: filled() == ORDERS, "every order filled after the broker restart")
        produce(broker.bootstrap, intents[:third])  # and a redelivery of old intents changes nothing
        time.sleep(3)
    finally:
        source.stop()
    account = uuid.UUID(trader.account_id)
    fills = query(dsn, "select order_id, count(*) as n from trading.fills where account_id = %s group by 1", account)
    assert len(fills) == ORDERS and {f["n"] for f in fills} == {1}, fills  # every order once
    position = query(dsn, "select qty from trading.positions where account_id = %s and symbol = 'AAPL'", account)
    assert position[0]["qty"] == Decimal(ORDERS)
    stats = source.stats
    assert (stats.dead_lettered, stats.offset_resets, stats.gaps) == (0, 0, 0), log
    # Every intent handed over once, plus the deliberate redelivery: the group's offset survived the restart.
    assert stats.records == ORDERS + third and stats.committed == {0: ORDERS + third}, (stats, log)


def test_a_long_postgres_outage_dead_letters_no_good_order_but_a_bad_record_still_goes(
    core_env: dict[str, Any], trader: Trader, set_price: Any, rig: Rig
) -> None:
    """PostgreSQL is down for many times what 3 retries with backoff last: the executor waits it out inside its
    invocations (tradeplane.outage), so nothing is dead-lettered; a record that can never apply still is."""
    dsn = core_env["dsn"]
    set_price("AAPL", "50.00")
    for i in range(8):
        submit(trader, client_order_id=f"out-{i}", qty="1")
    intents = outbox_envelopes(dsn, trader.account_id)
    log: list[str] = []
    # Quick failures while the server is down: a 1 s pool wait (a pool built for this test), 0.2 s between
    # the source's retries.
    db.close_pools()
    source = executor_source(core_env, rig.broker, log, group="outage-executor", retry_backoff_s=0.2,
                             TP_DB_POOL_TIMEOUT_S="1", TP_DB_CONNECT_TIMEOUT_S="1")  # fmt: skip
    source.start()

    def filled() -> int:
        rows = query(dsn, "select count(*) as n from trading.orders where account_id = %s and status = 'filled'",
                     uuid.UUID(trader.account_id))  # fmt: skip
        return int(rows[0]["n"])

    def outage() -> None:
        produce(rig.broker.bootstrap, intents[4:])  # delivered while the database is down
        time.sleep(12)  # four 1 s attempts 0.2-0.8 s apart would have dead-lettered them within about 6 s

    try:
        produce(rig.broker.bootstrap, intents[:4])
        eventually(lambda: filled() == 4, "the first orders filled")
        rig.restart_postgres(down=outage)
        eventually(lambda: filled() == 8, "the orders sent during the outage filled once it ended")
        assert source.stats.dead_lettered == 0, log
        poison = intents[0].model_copy(update={"id": "poison-1", "data": {**intents[0].data, "account_id": "x"}})
        produce(rig.broker.bootstrap, [poison])
        eventually(lambda: source.stats.dead_lettered == 1, "the bad record dead-lettered after its retries")
    finally:
        source.stop()
    fills = query(dsn, "select order_id from trading.fills where account_id = %s", uuid.UUID(trader.account_id))
    assert len(fills) == 8 and len({f["order_id"] for f in fills}) == 8


def test_the_matcher_waits_out_a_postgres_outage_and_fills_once_it_ends(
    core_env: dict[str, Any],
    trader: Trader,
    set_price: Any,
    postgres_server: servers.Server,
    server_state: Path,
    request: pytest.FixtureRequest,
) -> None:
    """A tick arrives while PostgreSQL is down: the matcher's invocation keeps retrying (tradeplane.outage)
    instead of failing into the event source's retry budget, and fills the resting order once the server is
    back; the same tick delivered again changes nothing."""
    import threading

    from tradeplane.contracts.market import TICK_EVENT
    from tradeplane.contracts.topics import MARKET_TICKS
    from tradeplane.envelope import Envelope

    dsn, account = core_env["dsn"], uuid.UUID(trader.account_id)
    bindings = Bindings(stage="local", db_dsn=dsn, kafka_bootstrap=core_env["kafka"], redis_url=core_env["redis_url"])
    set_price("AAPL", "50.00")
    submit(trader, client_order_id="rest-1", qty="2", type="limit", limit_price="49", time_in_force="gtc")
    call("executor", bindings, msk_event(outbox_envelopes(dsn, trader.account_id)[-1:], core_env["kafka"]))
    at = datetime.now(UTC) + timedelta(seconds=1)
    tick = Envelope.new(TICK_EVENT, {"symbol": "AAPL", "price": "48", "size": "100", "ts": at.isoformat(),
                                     "source": "t"}, producer="test")  # fmt: skip
    event = msk_event([tick], core_env["kafka"], topic=MARKET_TICKS)
    answers: list[Any] = []

    def matcher() -> None:
        try:  # quick failures while the server is down: 1 s pool wait and connect timeout
            quick = {"TP_DB_POOL_TIMEOUT_S": "1", "TP_DB_CONNECT_TIMEOUT_S": "1"}
            answers.append(call("order_matcher", bindings, event, **quick))
        except Exception as error:  # noqa: BLE001 - what the event source would count as a failed attempt
            answers.append(error)

    worker = threading.Thread(target=matcher)

    def outage() -> None:
        worker.start()
        time.sleep(5)  # several failed attempts: without riding out, the invocation would have failed by now
        assert worker.is_alive() and not answers, answers

    db.close_pools()
    restart_postgres(postgres_server, server_state, request, outage)
    worker.join(60)
    assert answers and answers[0] == {"points": 1, "fills": 1, "orders_changed": 1}, answers
    assert call("order_matcher", bindings, event)["fills"] == 0  # redelivered: claimed already
    fills = query(dsn, "select qty from trading.fills where account_id = %s", account)
    assert [f["qty"] for f in fills] == [Decimal(2)]
    db.close_pools()
