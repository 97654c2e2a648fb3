"""Under root, PostgreSQL needs its system user: a missing useradd says what is needed instead of a traceback."""

from __future__ import annotations

import pwd
from pathlib import Path

import pytest
from tradeplane_local import servers

NAME = "tp-test-nobody-here"


@pytest.fixture
def no_such_user(monkeypatch: pytest.MonkeyPatch) -> None:
    real = pwd.getpwnam

    def getpwnam(name: str) -> pwd.struct_passwd:
        if name == NAME:
            raise KeyError(name)
        return real(name)

    monkeypatch.setattr(pwd, "getpwnam", getpwnam)


def fake_useradd(folder: Path, *, exit_code: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "useradd"
    script.write_text(f'#!/bin/sh\necho "$@" > "{folder}/called"\necho "useradd: no way" >&2\nexit {exit_code}\n')
    script.chmod(0o755)
    return folder / "called"


def test_missing_useradd_says_what_is_needed(
    no_such_user: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(servers, "_SBIN_PATH", str(tmp_path / "sbin"))
    with pytest.raises(servers.ServerStartError) as caught:
        servers._ensure_system_user(NAME)
    message = str(caught.value)
    assert message.startswith("postgres failed to start: useradd not found on PATH")
    assert f"system user '{NAME}'" in message and "/usr/sbin" in message and "non-root" in message


def test_useradd_outside_path_is_found_in_sbin(
    no_such_user: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    called = fake_useradd(tmp_path / "sbin")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(servers, "_SBIN_PATH", str(tmp_path / "sbin"))
    servers._ensure_system_user(NAME)
    assert called.read_text().split() == ["-s", "/bin/bash", NAME]


def test_failing_useradd_is_a_start_error_with_its_reason(
    no_such_user: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_useradd(tmp_path / "bin", exit_code=9)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(servers.ServerStartError, match=r"useradd failed \(useradd: no way\)"):
        servers._ensure_system_user(NAME)


def test_an_existing_user_runs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(servers, "_SBIN_PATH", str(tmp_path / "sbin"))
    servers._ensure_system_user(pwd.getpwuid(0).pw_name)  # no useradd anywhere, and none needed
