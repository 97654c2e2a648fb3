"""Function workers behave like Lambda containers: warm state, timeouts, crashes, init errors."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def client(fixture_runtime):  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=fixture_runtime.gateway_url, timeout=20) as c:
        yield c


def test_module_state_persists_and_init_is_reported_once(client: httpx.Client, fixture_runtime) -> None:  # type: ignore[no-untyped-def]
    first = client.get("/v1/counter").json()
    second = client.get("/v1/counter").json()
    assert second["pid"] == first["pid"]
    assert second["count"] == first["count"] + 1
    stats = fixture_runtime.hosts["counter"].stats
    assert stats.cold_starts == 1 and stats.last_init_ms is not None and stats.last_init_ms > 0


def test_timeout_is_reported_and_worker_replaced(client: httpx.Client, fixture_runtime) -> None:  # type: ignore[no-untyped-def]
    host = fixture_runtime.hosts["sleepy"]
    r = client.get("/v1/sleepy")
    assert r.status_code == 503
    assert host.stats.timeouts == 1
    assert host.workers() == 0  # the timed-out container was killed, not reused
    result = host.invoke({})
    assert result.error_type == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in result.error["errorMessage"]  # type: ignore[index]
    assert host.stats.cold_starts == 2  # a fresh container for the next invocation


def test_crash_is_reported_and_next_invocation_gets_new_worker(fixture_runtime) -> None:  # type: ignore[no-untyped-def]
    host = fixture_runtime.hosts["crash"]
    first = host.invoke({})
    assert not first.ok and first.error_type == "Runtime.ExitError"
    assert "exit status 3" in first.error["errorMessage"]  # type: ignore[index]
    second = host.invoke({})
    assert second.error_type == "Runtime.ExitError"
    assert host.stats.crashes == 2 and host.stats.cold_starts == 2


def test_import_error_is_reported_as_init_failure(fixture_runtime) -> None:  # type: ignore[no-untyped-def]
    result = fixture_runtime.hosts["badinit"].invoke({})
    assert not result.ok
    assert result.error_type == "ImportError"
    assert "broken at import time" in result.error["errorMessage"]  # type: ignore[index]


def test_runtime_writes_start_end_report_lines(fixture_runtime) -> None:  # type: ignore[no-untyped-def]
    from tradeplane_local.logs import read_logs

    fixture_runtime.hosts["counter"].invoke({})
    lines = [r["msg"] for r in read_logs(fixture_runtime.logs.log_file, "counter")]
    assert any(line.startswith("START RequestId:") for line in lines)
    assert any(line.startswith("REPORT RequestId:") and "Init Duration" in line for line in lines)
