"""`tradeplane local up` starts real servers from nothing; `down` leaves no process behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def tp(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradeplane_local.cli", *args, "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=180,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def test_up_status_invoke_down() -> None:
    state = Path(tempfile.mkdtemp(prefix="tradeplane-test-cli-")) / "state"  # outside pytest's 0700 tmp tree
    up = tp("local", "up", "--port", "0", state=state)
    assert up.returncode == 0, up.stderr
    info = json.loads((state / "state.json").read_text())
    pids = [s["pid"] for s in info["servers"]] + [info["runtime"]["pid"]]
    assert all(alive(p) for p in pids)

    status = tp("local", "status", "--json", state=state)
    data = json.loads(status.stdout)
    assert {s["name"]: s["health"] for s in data["servers"]} == dict.fromkeys(
        ["postgres", "postgres-replica", "redis", "kafka", "moto"], "healthy"
    )
    # The replica streams from the primary, and lag-tolerant readers are bound to it.
    assert len(data["replication_lag_s"]) == 1
    replica_url = next(s["url"] for s in data["servers"] if s["name"] == "postgres-replica")
    assert info["bindings"]["db_read_dsn"] == replica_url
    assert "bar_aggregator" in data["runtime"]["functions"]

    inv = tp(
        "local",
        "invoke",
        "health_get",
        "--event",
        json.dumps(
            {
                "version": "2.0",
                "routeKey": "GET /v1/health",
                "rawPath": "/v1/health",
                "rawQueryString": "",
                "headers": {},
                "requestContext": {
                    "http": {
                        "method": "GET",
                        "path": "/v1/health",
                        "sourceIp": "127.0.0.1",
                        "protocol": "HTTP/1.1",
                        "userAgent": "t",
                    },
                    "requestId": "r",
                    "routeKey": "GET /v1/health",
                    "stage": "$default",
                    "accountId": "0",
                    "apiId": "a",
                    "domainName": "d",
                    "domainPrefix": "d",
                    "time": "t",
                    "timeEpoch": 0,
                },
                "isBase64Encoded": False,
            }
        ),
        state=state,
    )
    assert inv.returncode == 0, inv.stdout + inv.stderr
    assert json.loads(inv.stdout)["result"]["statusCode"] == 200

    again = tp("local", "up", "--port", "0", state=state)
    assert again.returncode == 1 and "already up" in again.stderr

    down = tp("local", "down", state=state)
    assert down.returncode == 0 and "postgres" in down.stdout
    assert [p for p in pids if alive(p)] == []
    assert not (state / "state.json").exists()
    assert tp("local", "status", state=state).returncode == 1
    shutil.rmtree(state.parent, ignore_errors=True)
