"""`tradeplane admin create-user`: the first user, who can then sign in."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from support.core_api import Api, sign_in
from tradeplane_local.cli import main

pytestmark = pytest.mark.integration


def test_create_user_then_sign_in(
    api: Api, core_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "admin-" + uuid.uuid4().hex[:6]
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["admin", "create-user", name, "--password-stdin", "--dsn", core_env["dsn"]]) == 0
    assert f"created user {name}" in capsys.readouterr().out
    assert sign_in(api, name, "a long enough password")["access_token"]
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["admin", "create-user", name + "x", "--password-stdin", "--dsn", core_env["dsn"]]) == 2
