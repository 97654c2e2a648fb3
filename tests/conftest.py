"""Test harness: real servers on loopback, started once per session when a test asks.

Each server is started only by the first test that needs it (unit tests start
none) and stopped at the end of the session. Any of them can be replaced with
one you already run by setting TP_LOCAL_POSTGRES_URL, TP_LOCAL_REDIS_URL,
TP_LOCAL_KAFKA_BOOTSTRAP or TP_LOCAL_AWS_URL.

Isolation: a database per test module, a Redis database index per test module
(flushed after it), fresh topic names per test, and AWS credentials/endpoint
set per test so no test reaches a real AWS account.
"""

from __future__ import annotations

import itertools
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from tradeplane_local import servers
from tradeplane_tools.manifest import domain_paths

# Domain packages and handlers import as they do in Lambda, from their domain folder.
sys.path[:0] = [str(path) for path in domain_paths()]

_redis_db = itertools.count(1)  # db 0 is left to the local runtime


@pytest.fixture(scope="session")
def server_state() -> Iterator[Path]:
    # Not under pytest's tmp tree: pytest makes that 0700, and PostgreSQL runs as
    # another user (pgserver) when we are root, so it must be able to traverse it.
    path = Path(tempfile.mkdtemp(prefix="tradeplane-test-servers-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _session_server(name: str, state: Path, **kw: object) -> Iterator[servers.Server]:
    srv = servers.start(name, state / name, **kw)  # type: ignore[arg-type]
    try:
        yield srv
    finally:
        servers.stop(srv)


@pytest.fixture(scope="session")
def postgres_server(server_state: Path) -> Iterator[servers.Server]:
    yield from _session_server("postgres", server_state, durable=False)


@pytest.fixture(scope="session")
def redis_server(server_state: Path) -> Iterator[servers.Server]:
    yield from _session_server("redis", server_state)


@pytest.fixture(scope="session")
def kafka_server(server_state: Path) -> Iterator[servers.Server]:
    yield from _session_server("kafka", server_state)


@pytest.fixture(scope="session")
def moto_server(server_state: Path) -> Iterator[servers.Server]:
    yield from _session_server("moto", server_state)


def _dsn_with_db(dsn: str, db: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{db}"))


@pytest.fixture(scope="module")
def pg_dsn(postgres_server: servers.Server, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database for this test module; dropped afterwards."""
    import psycopg

    name = "t_" + re.sub(r"\W", "_", request.module.__name__.rsplit(".", 1)[-1])[:40] + "_" + uuid.uuid4().hex[:6]
    admin = _dsn_with_db(postgres_server.url, "postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'create database "{name}"')
    yield _dsn_with_db(postgres_server.url, name)
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def redis_url(redis_server: servers.Server) -> Iterator[str]:
    """A Redis database index of its own for this test module, flushed afterwards."""
    import redis

    index = next(_redis_db) % 16 or 1
    url = redis_server.url.rsplit("/", 1)[0] + f"/{index}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_server: servers.Server) -> str:
    return kafka_server.url


@pytest.fixture
def new_topic(kafka_bootstrap: str, request: pytest.FixtureRequest) -> Callable[..., str]:
    """Create a topic with a name unique to this test: `new_topic("orders", partitions=3)`."""
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    test = re.sub(r"[^a-zA-Z0-9]", "-", request.node.name)[:60]

    def make(base: str = "t", partitions: int = 1) -> str:
        name = f"{base}.{test}.{uuid.uuid4().hex[:8]}"
        futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        futures[name].result(timeout=10)
        return name

    return make


@pytest.fixture
def aws_env(moto_server: servers.Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 at the moto server with dummy credentials; returns the endpoint."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return moto_server.url
