"""CPU time spent by each part of the local platform over a measured stretch (for `make bench`).

On two shared cores a throughput figure is a CPU budget split between the gateway,
the function workers, PostgreSQL (primary and replica) and the broker; printing
each part's CPU per operation says where a ratio comes from and what would move it.
Process trees are walked at each reading, so workers started in between count too. Each
process also counts what its finished children spent (the kernel adds a reaped child's time
to its parent's), so a PostgreSQL backend whose client disconnected before the second reading
still counts; a process that starts and exits between two readings under a parent outside the
tree is missed: start measuring after warm-up.
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from pathlib import Path

import psutil

from tradeplane_local import stack

# Server name in the stack's state -> the group it is billed to.
_SERVER_GROUPS = {"postgres": "postgres", "postgres-replica": "postgres", "kafka": "broker", "redis": "redis"}


def _tree(pid: int) -> Iterator[psutil.Process]:
    try:
        root = psutil.Process(pid)
        yield root
        yield from root.children(recursive=True)
    except psutil.NoSuchProcess:
        return


def _cpu_s(proc: psutil.Process) -> float:
    """The process's own CPU seconds and those of its children it has reaped (exited backends, workers)."""
    try:
        t = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return float(t.user + t.system + t.children_user + t.children_system)


def reading(state_dir: Path) -> dict[str, float]:
    """Cumulative CPU seconds per group: runtime (gateway, event sources), functions, postgres, broker, redis."""
    state = stack.read_state(state_dir) or {}
    groups: dict[str, float] = {}
    runtime_pid = state.get("runtime", {}).get("pid")
    if runtime_pid:
        for proc in _tree(runtime_pid):
            name = "runtime" if proc.pid == runtime_pid else "functions"
            groups[name] = groups.get(name, 0.0) + _cpu_s(proc)
    for srv in state.get("servers", []):
        group = _SERVER_GROUPS.get(srv["name"])
        if group and srv.get("pid"):
            groups[group] = groups.get(group, 0.0) + sum(_cpu_s(p) for p in _tree(srv["pid"]))
    return groups


def children_cpu_s() -> float:
    """CPU seconds of this process's finished children (a baseline tool run with subprocess)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def per_operation_ms(before: dict[str, float], after: dict[str, float], operations: int) -> dict[str, float]:
    """CPU milliseconds per operation for each group, largest first."""
    spent = {group: after[group] - before.get(group, 0.0) for group in after}
    return dict(sorted(((g, s * 1000 / max(operations, 1)) for g, s in spent.items()), key=lambda kv: -kv[1]))


def describe(per_op: dict[str, float]) -> str:
    """'14.6 ms CPU: functions 4.6, postgres 3.7, ...' (groups under 0.05 ms left out)."""
    parts = ", ".join(f"{group} {ms:.1f}" for group, ms in per_op.items() if ms >= 0.05)
    return f"{sum(per_op.values()):.1f} ms CPU: {parts}"
