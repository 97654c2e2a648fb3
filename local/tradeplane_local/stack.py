"""`tradeplane local up|down|status`: the servers, provisioning and the runtime daemon.

Everything lives in one state directory (default `.tradeplane/local`): server
data and logs, the function logs, and `state.json`, which records what `up`
started (pids) and what it was given (URLs). `down` stops exactly the pids in
that file, newest first, and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tradeplane_tools.manifest import DEFAULT_MANIFEST, load_manifest

from tradeplane_local import provision, servers
from tradeplane_local.runtime import RuntimeConfig, write_json

DEFAULT_STATE = Path(".tradeplane/local")
DEFAULT_PORTS = {"postgres": 55432, "postgres-replica": 55433, "redis": 56379, "kafka": 59092, "moto": 54566}
DEFAULT_GATEWAY_PORT = 8080


class StackError(RuntimeError):
    pass


@dataclass
class UpOptions:
    state_dir: Path = DEFAULT_STATE
    manifest: Path = DEFAULT_MANIFEST
    urls: dict[str, str] = field(default_factory=dict)  # server name -> URL given by the user
    gateway_port: int = DEFAULT_GATEWAY_PORT
    tls: bool = False
    prewarm: bool = False
    durable: bool = True
    replica: bool = True  # a streaming read replica beside the PostgreSQL we start
    extra_env: dict[str, str] = field(default_factory=dict)  # added to every function's environment


@dataclass
class UpReport:
    gateway: str
    admin: str
    servers: list[dict[str, Any]]
    timings_s: dict[str, float]
    provisioned: dict[str, list[str]]


def _state_file(state_dir: Path) -> Path:
    return state_dir / "state.json"


def read_state(state_dir: Path) -> dict[str, Any] | None:
    path = _state_file(state_dir)
    return json.loads(path.read_text()) if path.exists() else None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def up(opts: UpOptions) -> UpReport:
    state_dir = opts.state_dir.resolve()
    existing = read_state(state_dir)
    if existing and _alive(existing.get("runtime", {}).get("pid")):
        raise StackError(f"already up (runtime pid {existing['runtime']['pid']}); run `tradeplane local down` first")
    manifest = load_manifest(opts.manifest)
    state_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started: list[servers.Server] = []
    state: dict[str, Any] = {"servers": [], "runtime": {}, "manifest": str(opts.manifest.resolve())}
    try:
        for name in ("postgres", "redis", "kafka", "moto"):
            t0 = time.perf_counter()
            kw: dict[str, Any] = {"durable": opts.durable} if name == "postgres" else {}
            srv = servers.start(name, state_dir, url=opts.urls.get(name), port=DEFAULT_PORTS[name], **kw)
            timings[name] = time.perf_counter() - t0
            started.append(srv)
            state["servers"] = [s.to_dict() for s in started]
            write_json(_state_file(state_dir), state)  # so `down` can clean up even if a later step fails
        by_name = {s.name: s for s in started}
        replica = _start_replica(state_dir, by_name["postgres"], opts, timings)
        if replica is not None:
            started.append(replica)
            state["servers"] = [s.to_dict() for s in started]
            write_json(_state_file(state_dir), state)
        gateway_port = servers.free_port(opts.gateway_port)
        scheme = "https" if opts.tls else "http"
        bindings = provision.local_bindings(
            manifest,
            db_dsn=by_name["postgres"].url,
            db_read_dsn=replica.url if replica else None,
            redis_url=by_name["redis"].url,
            kafka_bootstrap=by_name["kafka"].url,
            gateway_url=f"{scheme}://127.0.0.1:{gateway_port}",
        )
        t0 = time.perf_counter()
        provisioned = {
            "migrations": provision.migrate(by_name["postgres"].url),
            "topics": provision.create_topics(by_name["kafka"].url, manifest),
            "buckets": provision.create_buckets(by_name["moto"].url, bindings),
            "secrets": provision.seed_secrets(by_name["moto"].url, manifest, bindings),
        }
        timings["provision"] = time.perf_counter() - t0
        config = RuntimeConfig(
            manifest=str(opts.manifest.resolve()),
            state_dir=str(state_dir),
            bindings=asdict(bindings),
            aws_endpoint=by_name["moto"].url,
            gateway_port=gateway_port,
            tls=opts.tls,
            prewarm=opts.prewarm,
            extra_env=dict(opts.extra_env),
        )
        t0 = time.perf_counter()
        runtime = _start_runtime(state_dir, config)
        timings["runtime"] = time.perf_counter() - t0
        state["runtime"] = runtime
        state["bindings"] = asdict(bindings)
        write_json(_state_file(state_dir), state)
    except BaseException:
        down(state_dir)
        raise
    return UpReport(runtime["gateway"], runtime["admin"], state["servers"], timings, provisioned)


def _start_runtime(state_dir: Path, config: RuntimeConfig, timeout: float = 60) -> dict[str, Any]:
    config_file = state_dir / "runtime-config.json"
    write_json(config_file, asdict(config))
    ready_file = state_dir / "runtime.json"
    ready_file.unlink(missing_ok=True)
    log = state_dir / "runtime.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradeplane_local.runtime", str(config_file)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise servers.ServerStartError("runtime", f"exited with code {proc.returncode}", log)
        if ready_file.exists():
            info: dict[str, Any] = json.loads(ready_file.read_text())
            info["log"] = str(log)
            return info
        time.sleep(0.05)
    proc.kill()
    raise servers.ServerStartError("runtime", f"not ready after {timeout:.0f} s", log)


def down(state_dir: Path) -> list[str]:
    """Stop what `up` started (the runtime first, then the servers); returns what was stopped."""
    state_dir = state_dir.resolve()
    state = read_state(state_dir)
    if state is None:
        return []
    stopped = []
    pid = state.get("runtime", {}).get("pid")
    if _alive(pid):
        servers.stop_pid(pid, grace=20, sig=signal.SIGTERM)
        stopped.append(f"runtime (pid {pid})")
    for raw in reversed(state.get("servers", [])):
        srv = servers.Server(**raw)
        if srv.managed and _alive(srv.pid):
            servers.stop(srv)
            stopped.append(f"{srv.name} (pid {srv.pid})")
    _state_file(state_dir).unlink(missing_ok=True)
    (state_dir / "runtime.json").unlink(missing_ok=True)
    return stopped


def wipe(state_dir: Path) -> None:
    """Forget the data of a stopped platform (databases, logs), so the next `up` starts empty.

    Refuses while anything `up` started is still running."""
    import shutil

    state_dir = state_dir.resolve()
    state = read_state(state_dir)
    if state and (_alive(state.get("runtime", {}).get("pid")) or any(_alive(s.get("pid")) for s in state["servers"])):
        raise StackError("the local platform is running; run `tradeplane local down` first")
    for name in ("postgres", "postgres-replica", "redis", "kafka", "moto", "logs"):
        shutil.rmtree(state_dir / name, ignore_errors=True)


def _start_replica(
    state_dir: Path, primary: servers.Server, opts: UpOptions, timings: dict[str, float]
) -> servers.Server | None:
    """A streaming read replica of the PostgreSQL we started (a user's own server brings its own, or none)."""
    if not primary.managed or not opts.replica:
        return None
    t0 = time.perf_counter()
    replica = servers.start_postgres_replica(
        state_dir, primary, DEFAULT_PORTS["postgres-replica"], durable=opts.durable
    )
    timings["postgres-replica"] = time.perf_counter() - t0
    return replica


def _server_health(srv: dict[str, Any]) -> str:
    name, url = srv["name"], srv["url"]
    try:
        if name.startswith("postgres"):
            import psycopg

            with psycopg.connect(url, connect_timeout=2) as c:
                c.execute("select 1")
        elif name == "redis":
            import redis

            redis.Redis.from_url(url, socket_timeout=2).ping()
        elif name == "kafka":
            from confluent_kafka.admin import AdminClient

            AdminClient({"bootstrap.servers": url}).list_topics(timeout=3)
        else:
            import urllib.request

            urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2).close()  # noqa: S310 - loopback
    except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy", reported with its reason
        return f"unhealthy: {type(exc).__name__}: {exc}"[:200]
    return "healthy"


def _replication_lag(listed: list[dict[str, Any]]) -> dict[str, float | None] | str | None:
    primary = next((s for s in listed if s["name"] == "postgres" and s["health"] == "healthy"), None)
    if primary is None or not any(s["name"] == "postgres-replica" for s in listed):
        return None
    try:
        return servers.replication_lag_s(primary["url"])
    except Exception as exc:  # noqa: BLE001 - status reports, it does not fail
        return f"unknown: {type(exc).__name__}"


def status(state_dir: Path) -> dict[str, Any]:
    state = read_state(state_dir.resolve())
    if state is None:
        return {"up": False}
    out: dict[str, Any] = {"up": True, "servers": [], "runtime": None}
    for srv in state.get("servers", []):
        managed = srv.get("pid") is not None
        health = _server_health(srv) if (not managed or _alive(srv["pid"])) else "stopped"
        out["servers"].append({**srv, "managed": managed, "health": health})
    out["replication_lag_s"] = _replication_lag(out["servers"])
    runtime = state.get("runtime") or {}
    if _alive(runtime.get("pid")):
        import urllib.request

        try:
            with urllib.request.urlopen(f"{runtime['admin']}/status", timeout=5) as r:  # noqa: S310 - loopback
                out["runtime"] = json.loads(r.read())
        except OSError as exc:
            out["runtime"] = {"pid": runtime["pid"], "error": str(exc)}
    return out


def admin_url(state_dir: Path) -> str:
    state = read_state(state_dir.resolve())
    if not state or not _alive(state.get("runtime", {}).get("pid")):
        raise StackError("the local platform is not up; run `tradeplane local up`")
    return str(state["runtime"]["admin"])
