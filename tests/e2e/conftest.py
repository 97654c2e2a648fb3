"""The local runtime, in-process, serving the fixture functions against the real servers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from tradeplane_local import provision, stack
from tradeplane_local.runtime import Runtime, RuntimeConfig
from tradeplane_tools.manifest import load_manifest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "functions" / "manifest.toml"


@pytest.fixture(scope="module")
def sink_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sink") / "sink.jsonl"


@pytest.fixture(scope="module")
def fixture_runtime(
    kafka_server, moto_server, sink_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    manifest = load_manifest(FIXTURES)
    bindings = provision.local_bindings(manifest, db_dsn=None, redis_url=None, kafka_bootstrap=kafka_server.url)
    # Topics are shared by the module's tests; unique group names would not help Tansu, unique topics do.
    provision.create_topics(kafka_server.url, manifest)
    provision.create_buckets(moto_server.url, bindings)
    provision.seed_secrets(moto_server.url, manifest, bindings)
    config = RuntimeConfig(
        manifest=str(FIXTURES),
        state_dir=str(tmp_path_factory.mktemp("runtime")),
        bindings=asdict(bindings),
        aws_endpoint=moto_server.url,
        extra_env={"SINK_FILE": str(sink_file)},
        max_concurrency=2,
    )
    runtime = Runtime(config, manifest)
    runtime.start()
    yield runtime
    runtime.stop()


@pytest.fixture(scope="module")
def platform(
    postgres_server,
    redis_server,
    kafka_server,
    moto_server,
    tmp_path_factory: pytest.TempPathFactory,  # type: ignore[no-untyped-def]
) -> Iterator[tuple[Path, dict]]:  # type: ignore[type-arg]
    """`tradeplane local up` with the real manifest against the harness's servers: (state dir, state)."""
    state = tmp_path_factory.mktemp("platform")
    urls = {
        "postgres": postgres_server.url,
        "redis": redis_server.url,
        "kafka": kafka_server.url,
        "moto": moto_server.url,
    }
    stack.up(stack.UpOptions(state_dir=state, urls=urls, gateway_port=0))
    info = stack.read_state(state)
    assert info is not None
    yield state, info
    stopped = stack.down(state)
    assert stopped == [f"runtime (pid {info['runtime']['pid']})"]  # the given servers are not ours to stop
