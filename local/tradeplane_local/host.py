"""Run a function like Lambda does: a pool of worker processes ("containers").

A worker starts on demand (a cold start, with its init duration reported),
serves one invocation at a time, keeps module state between invocations, is
killed when an invocation runs past the function's timeout and is replaced
when it crashes. Each worker gets exactly the function's environment.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeplane_local.wire import read_message, write_message

# What a worker inherits from the runtime besides the function's own environment.
_PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "SYSTEMROOT")


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    code_dir: Path
    handler: str
    layer_dirs: tuple[Path, ...]
    environment: Mapping[str, str]
    memory_mb: int
    timeout_s: float
    max_concurrency: int = 4


@dataclass
class InvokeResult:
    ok: bool
    request_id: str
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    init_ms: float | None = None  # set on a cold start

    @property
    def error_type(self) -> str | None:
        return self.error.get("errorType") if self.error else None


@dataclass
class FunctionStats:
    invocations: int = 0
    errors: int = 0
    timeouts: int = 0
    crashes: int = 0
    cold_starts: int = 0
    last_init_ms: float | None = None
    last_error: str | None = None


LogSink = Callable[[str, str, str], None]  # (function, stream name, line)


class Worker:
    def __init__(self, cfg: FunctionConfig, sink: LogSink) -> None:
        self.cfg = cfg
        self.stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tradeplane_local.worker", str(req_r), str(resp_w)],
            env=self._environment(),
            cwd=cfg.code_dir,
            pass_fds=(req_r, resp_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, so a timeout kills everything it spawned
        )
        os.close(req_r)
        os.close(resp_w)
        self._requests = os.fdopen(self._req_w, "wb", buffering=0)
        self._responses = os.fdopen(self._resp_r, "rb", buffering=0)
        self._log_thread = threading.Thread(target=self._pump_logs, args=(sink,), daemon=True)
        self._log_thread.start()
        hello = self._read(timeout=max(cfg.timeout_s, 30.0))  # Lambda allows 10 s of init; be lenient locally
        self.init_ms = (time.perf_counter() - started) * 1000
        if not hello or "ready" not in hello:
            self.kill()
            detail = (hello or {}).get("init_error") or {"errorType": "Runtime.ExitError", "errorMessage": "no init"}
            raise InitError(detail)
        self.import_ms = float(hello["init_ms"])

    def _environment(self) -> dict[str, str]:
        cfg = self.cfg
        env = {k: os.environ[k] for k in _PASSTHROUGH if k in os.environ}
        # sys.path as in Lambda: the function's code, then its layers (/var/task, then /opt/python).
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (cfg.code_dir, *cfg.layer_dirs))
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": cfg.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(cfg.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{cfg.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": self.stream,
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "_HANDLER": cfg.handler,
                "PYTHONUNBUFFERED": "1",
                "TZ": ":UTC",
            }
        )
        env.update(cfg.environment)
        return env

    def _pump_logs(self, sink: LogSink) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            sink(self.cfg.name, self.stream, raw.decode("utf-8", "replace").rstrip("\n"))

    def _read(self, timeout: float) -> dict[str, Any] | None:
        ready, _, _ = select.select([self._responses], [], [], timeout)
        if not ready:
            raise TimeoutError
        msg = read_message(self._responses)
        return msg if isinstance(msg, dict) else None

    def invoke(self, event: Any, request_id: str) -> dict[str, Any] | None:
        deadline_ms = int((time.time() + self.cfg.timeout_s) * 1000)
        write_message(self._requests, {"event": event, "request_id": request_id, "deadline_ms": deadline_ms})
        return self._read(timeout=self.cfg.timeout_s)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        for stream in (self._requests, self._responses):
            with contextlib.suppress(OSError):
                stream.close()

    def close(self) -> None:
        """Graceful: closing its request pipe ends the worker's loop."""
        try:
            self._requests.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if self.alive():
            self.kill()
        self._responses.close()


class InitError(RuntimeError):
    def __init__(self, detail: dict[str, Any]) -> None:
        super().__init__(f"{detail.get('errorType')}: {detail.get('errorMessage')}")
        self.detail = detail


@dataclass
class FunctionHost:
    """All containers of one function, with Lambda's START/END/REPORT lines in its log."""

    cfg: FunctionConfig
    sink: LogSink
    stats: FunctionStats = field(default_factory=FunctionStats)

    def __post_init__(self) -> None:
        self._idle: list[Worker] = []
        self._live: set[Worker] = set()  # idle and busy containers, so they can be listed (and crashed in tests)
        self._busy = 0
        self._cond = threading.Condition()
        self._closed = False

    def _spawn(self) -> Worker:
        worker = Worker(self.cfg, self.sink)
        with self._cond:
            self._live.add(worker)
        return worker

    def worker_pids(self, busy_only: bool = False) -> list[int]:
        """The process ids of this function's live containers (each leads its own process group)."""
        with self._cond:
            workers = self._live.difference(self._idle) if busy_only else self._live
            return [w.proc.pid for w in workers if w.alive()]

    def _acquire(self) -> Worker | None:
        """An idle container, or None when the caller may start a new one (a cold start)."""
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError(f"{self.cfg.name} is shut down")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        self._busy += 1
                        return worker
                    self._live.discard(worker)
                    worker.close()
                if self._busy < self.cfg.max_concurrency:
                    self._busy += 1
                    return None  # the caller starts the worker outside the lock
                self._cond.wait()

    def _release(self, worker: Worker | None) -> None:
        with self._cond:
            self._busy -= 1
            if worker is not None and worker.alive() and not self._closed:
                self._idle.append(worker)
            elif worker is not None:
                self._live.discard(worker)
                worker.close()  # a dead container's pipes are closed too, or each crash leaks descriptors
            self._cond.notify()

    def warm(self) -> float:
        """Start one container ahead of traffic; returns its init duration."""
        worker = self._acquire()
        if worker is None:
            try:
                worker = self._spawn()
            except InitError:
                self._release(None)
                raise
        self._release(worker)
        return worker.init_ms

    def warm_many(self, containers: int) -> None:
        """Have `containers` containers (at most the function's concurrency) started ahead of traffic, in parallel:
        each slot is taken before any is given back, so none is reused for another's warm-up."""
        slots = [self._acquire() for _ in range(min(containers, self.cfg.max_concurrency))]
        with ThreadPoolExecutor(max_workers=len(slots) or 1) as pool:
            fresh = list(pool.map(lambda _: self._spawn_quietly(), [s for s in slots if s is None]))
        for worker in [s for s in slots if s is not None] + fresh:
            self._release(worker)  # None (a failed init) gives its slot back too

    def _spawn_quietly(self) -> Worker | None:
        try:
            return self._spawn()
        except (InitError, TimeoutError):  # the first invocation reports it
            return None

    def invoke(self, event: Any) -> InvokeResult:
        request_id = str(uuid.uuid4())
        worker = self._acquire()
        init_ms: float | None = None
        try:
            if worker is None:
                try:
                    worker = self._spawn()
                except InitError as exc:
                    return self._finish(InvokeResult(False, request_id, error=exc.detail))
                except TimeoutError:
                    err = {"errorType": "Runtime.InitTimeout", "errorMessage": "init did not finish"}
                    return self._finish(InvokeResult(False, request_id, error=err))
                init_ms = worker.init_ms
                self.stats.cold_starts += 1
                self.stats.last_init_ms = init_ms
            return self._invoke_on(worker, event, request_id, init_ms)
        finally:
            self._release(worker)

    def _invoke_on(self, worker: Worker, event: Any, request_id: str, init_ms: float | None) -> InvokeResult:
        self.sink(self.cfg.name, worker.stream, f"START RequestId: {request_id} Version: $LATEST")
        t0 = time.perf_counter()
        try:
            reply = worker.invoke(event, request_id)
        except TimeoutError:
            worker.kill()
            self.stats.timeouts += 1
            message = f"Task timed out after {self.cfg.timeout_s:.2f} seconds"
            self.sink(self.cfg.name, worker.stream, f"{time.strftime('%Y-%m-%dT%H:%M:%SZ')} {request_id} {message}")
            result = InvokeResult(False, request_id, error={"errorType": "Sandbox.Timedout", "errorMessage": message})
        except OSError:  # the pipe broke: the process died before it read the request
            result = self._crashed(worker, request_id)
        else:
            if reply is None:  # the process died mid-invocation
                result = self._crashed(worker, request_id)
            elif reply.get("ok"):
                result = InvokeResult(True, request_id, result=reply.get("result"))
            else:
                result = InvokeResult(False, request_id, error=reply.get("error"))
        result.duration_ms = (time.perf_counter() - t0) * 1000
        result.init_ms = init_ms
        self.sink(self.cfg.name, worker.stream, f"END RequestId: {request_id}")
        init = f"\tInit Duration: {init_ms:.2f} ms" if init_ms is not None else ""
        self.sink(
            self.cfg.name,
            worker.stream,
            f"REPORT RequestId: {request_id}\tDuration: {result.duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, round(result.duration_ms))} ms\tMemory Size: {self.cfg.memory_mb} MB{init}",
        )
        return self._finish(result)

    def _crashed(self, worker: Worker, request_id: str) -> InvokeResult:
        code = worker.proc.wait(timeout=10)
        self.stats.crashes += 1
        message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"
        self.sink(self.cfg.name, worker.stream, message)
        return InvokeResult(False, request_id, error={"errorType": "Runtime.ExitError", "errorMessage": message})

    def _finish(self, result: InvokeResult) -> InvokeResult:
        self.stats.invocations += 1
        if not result.ok:
            self.stats.errors += 1
            self.stats.last_error = f"{result.error_type}: {(result.error or {}).get('errorMessage', '')}"[:300]
        return result

    def workers(self) -> int:
        with self._cond:
            return len(self._idle) + self._busy

    def shutdown(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._live.difference_update(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.close()
