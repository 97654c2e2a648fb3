"""The local runtime's log router: a container's last lines are kept until the runtime closes the file."""

from __future__ import annotations

import json
from pathlib import Path

from tradeplane_local.logs import LogRouter


def _lines(path: Path) -> list[str]:
    return [json.loads(line)["msg"] for line in path.read_text().splitlines()]


def test_lines_after_stop_are_written_and_after_close_dropped_without_error(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "functions.jsonl"
    router = LogRouter(path)
    router.start()
    router("fn", "stream-1", "while running")
    router.stop()
    router("fn", "stream-1", "a container's last line")  # containers shut down after the router stops
    router.close()
    router("fn", "stream-1", "a straggler thread's line")  # no ValueError from a closed file
    assert _lines(path) == ["while running", "a container's last line"]
