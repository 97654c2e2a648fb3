"""Health of the platform's dependencies, each probed with its latency."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Check:
    ok: bool
    latency_ms: float
    error: str | None = None  # the exception's type only: no hostnames or messages leave the service


@dataclass(frozen=True)
class HealthReport:
    checks: dict[str, Check] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "ok" if self.ok else "degraded",
            "checks": {name: {k: v for k, v in c.__dict__.items() if v is not None} for name, c in self.checks.items()},
        }


def check_health(probes: Mapping[str, Callable[[], object]]) -> HealthReport:
    checks = {}
    for name, probe in probes.items():
        t0 = time.perf_counter()
        try:
            probe()
            checks[name] = Check(True, round((time.perf_counter() - t0) * 1000, 2))
        except Exception as exc:  # noqa: BLE001 - a failing dependency is a result, not an error
            checks[name] = Check(False, round((time.perf_counter() - t0) * 1000, 2), type(exc).__name__)
    return HealthReport(checks)


def postgres_probe() -> None:
    from tradeplane.db import connection

    with connection(read_only=True) as conn:
        conn.execute("select 1")


def redis_probe() -> None:
    from tradeplane.redis_client import client as redis_client

    redis_client().ping()
