"""`tradeplane logs` output: readable and colored on a terminal, one JSON object per line when piped."""

from __future__ import annotations

import argparse
import io
import json
from typing import Any

import pytest
from tradeplane_local import log_cli

ENTRY = {
    "id": 7,
    "ts": "2026-11-29T12:00:01.250000Z",
    "level": "ERROR",
    "service": "core",
    "function_name": "orders_submit",
    "correlation_id": "flow-1234567890abcdef",
    "message": "publish failed",
    "order_id": "o-1",
    "kind": "log",
}


def test_terminal_lines_are_aligned_and_colored() -> None:
    plain = log_cli.format_line(ENTRY, color=False)
    assert plain == "12:00:01.250 ERROR    core/orders_submit           flow-1234567 publish failed order_id=o-1"
    colored = log_cli.format_line(ENTRY, color=True)
    assert "\033[31m" in colored and "publish failed" in colored and colored != plain


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Client:
    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages, self.calls = pages, []

    def __enter__(self) -> _Client:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        self.calls.append((path, params))
        body = self.pages.pop(0)
        return type("R", (), {"status_code": 200, "headers": {}, "json": lambda self: body})()


def _args(**kw: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-dir", default=".")
    log_cli.add_arguments(parser)
    return parser.parse_args([f"--{k.replace('_', '-')}={v}" for k, v in kw.items()])


@pytest.mark.parametrize(("out", "as_json"), [(io.StringIO(), True), (_Tty(), False)])
def test_piped_output_is_json_terminal_output_is_text(
    monkeypatch: pytest.MonkeyPatch, out: io.StringIO, as_json: bool
) -> None:
    older = {**ENTRY, "id": 6, "ts": "2026-11-29T12:00:00Z", "message": "earlier"}
    client = _Client([{"lines": [ENTRY, older], "next_cursor": None}])  # newest first, as the API pages
    monkeypatch.setattr(log_cli, "_client", lambda args: client)
    assert log_cli.run(_args(correlation_id="flow-1", level="error"), out) == 0
    printed = out.getvalue().splitlines()
    if as_json:
        assert [json.loads(x)["message"] for x in printed] == ["earlier", "publish failed"]  # oldest first
    else:
        assert "earlier" in printed[0] and "publish failed" in printed[1] and "\033[31m" in printed[1]
        assert not printed[1].startswith("{")
    assert client.calls[0][1]["correlation_id"] == "flow-1" and client.calls[0][1]["level"] == "ERROR"


def test_order_flag_reads_the_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _Client([{"order_id": "o-1", "correlation_ids": ["flow-1"], "lines": [ENTRY], "truncated": False}])
    monkeypatch.setattr(log_cli, "_client", lambda args: client)
    out = io.StringIO()
    assert log_cli.run(_args(order="o-1"), out) == 0
    assert client.calls == [("/v1/orders/o-1/trace", {})]
    assert json.loads(out.getvalue())["id"] == 7
