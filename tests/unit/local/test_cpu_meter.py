"""The bench's CPU meter: bills the runtime's own process, its workers and the servers to their groups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tradeplane_local import cpu_meter

BURN = """
import time
t = time.process_time()
while time.process_time() - t < 0.3:
    pass
print("done", flush=True)
input()
"""


def test_children_of_the_runtime_are_billed_to_functions(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"runtime": {"pid": os.getpid()}, "servers": []}))
    before = cpu_meter.reading(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", BURN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "done"
        after = cpu_meter.reading(tmp_path)  # read while the child is alive: exited processes are not seen
    finally:
        child.communicate("\n", timeout=10)
    per_op = cpu_meter.per_operation_ms(before, after, operations=3)
    assert per_op["functions"] >= 0.25 * 1000 / 3
    assert set(per_op) == {"runtime", "functions"}


PARENT = """
import subprocess, sys
input()
BURN = "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.3: pass"
subprocess.run([sys.executable, "-c", BURN])
print("reaped", flush=True)
input()
"""


def test_a_server_child_that_exited_between_readings_still_counts(tmp_path: Path) -> None:
    # A PostgreSQL backend ends with its client's connection, often before the second reading.
    server = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        (tmp_path / "state.json").write_text(json.dumps({"servers": [{"name": "postgres", "pid": server.pid}]}))
        before = cpu_meter.reading(tmp_path)
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write("\n")
        server.stdin.flush()  # the child starts only now, after the first reading
        assert server.stdout.readline().strip() == "reaped"
        after = cpu_meter.reading(tmp_path)
    finally:
        server.communicate("\n", timeout=10)
    assert cpu_meter.per_operation_ms(before, after, operations=1)["postgres"] >= 250


def test_servers_are_billed_by_name_and_unknown_ones_ignored(tmp_path: Path) -> None:
    servers = [{"name": "postgres-replica", "pid": os.getpid()}, {"name": "moto", "pid": os.getpid()}]
    (tmp_path / "state.json").write_text(json.dumps({"servers": servers}))
    assert set(cpu_meter.reading(tmp_path)) == {"postgres"}


def test_describe_sums_and_orders_groups() -> None:
    per_op = cpu_meter.per_operation_ms({"a": 1.0, "b": 0.0}, {"a": 1.002, "b": 0.010, "c": 0.00001}, operations=2)
    assert list(per_op) == ["b", "a", "c"]
    assert cpu_meter.describe(per_op) == "6.0 ms CPU: b 5.0, a 1.0"
