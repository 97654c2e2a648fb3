"""moto starts on a socket bound before it is spawned, so no other process can take its port in between."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from tradeplane_local import servers

pytestmark = pytest.mark.integration


def answers(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=5) as r:  # noqa: S310 - our http URL
        return bool(r.status == 200)


def port_is_taken(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def test_moto_port_is_held_from_before_the_spawn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    held_at_spawn: list[bool] = []
    real_spawn = servers._spawn

    def spawn(cmd: list[str], log: Path, **kw: Any) -> Any:
        held_at_spawn.append(port_is_taken(chosen[0]))
        return real_spawn(cmd, log, **kw)

    chosen: list[int] = []
    real_socket = servers.listening_socket

    def listening(preferred: int | None = None) -> socket.socket:
        s = real_socket(preferred)
        chosen.append(int(s.getsockname()[1]))
        return s

    monkeypatch.setattr(servers, "_spawn", spawn)
    monkeypatch.setattr(servers, "listening_socket", listening)
    moto = servers.start_moto(tmp_path)
    try:
        assert held_at_spawn == [True] and moto.port == chosen[0]
        assert answers(moto.url)
    finally:
        assert moto.pid is not None
        servers.stop_pid(moto.pid)
    assert not port_is_taken(chosen[0])  # it was our moto that held it


def test_a_taken_preferred_port_is_swapped_for_a_free_one(tmp_path: Path) -> None:
    with servers.listening_socket() as squatter:
        taken = int(squatter.getsockname()[1])
        moto = servers.start_moto(tmp_path, taken)
        try:
            assert moto.port != taken
            assert answers(moto.url)
        finally:
            assert moto.pid is not None
            servers.stop_pid(moto.pid)
