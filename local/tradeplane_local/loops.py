"""A background loop: one daemon thread running `_run` until `stop()`."""

from __future__ import annotations

import threading


class BackgroundLoop:
    """Subclasses implement `_run`, waiting on `self._stop` so `stop()` ends them promptly."""

    thread_name = "loop"
    stop_timeout_s = 5.0

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(self.stop_timeout_s)

    def _run(self) -> None:
        raise NotImplementedError
