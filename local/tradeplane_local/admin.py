"""Administration commands: the first user, and a paper account with an API key for an existing bot.

The logic is the Core API's own (`tp_core`); these commands only choose the
database and, for `paper-account`, talk to the running platform over HTTP.
"""

from __future__ import annotations

import os
import secrets
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from tradeplane_tools.manifest import domain_paths

from tradeplane_local import stack
from tradeplane_local.devtokens import local_token

PAPER_USER = "paper-trader"


def _core() -> Any:
    """The Core API's domain package, imported from its folder as Lambda would."""
    for path in domain_paths():
        if str(path) not in sys.path:
            sys.path.append(str(path))
    import tp_core.identity

    return tp_core.identity


def local_dsn(state_dir: Path) -> str | None:
    state = stack.read_state(state_dir.resolve()) or {}
    return next((s["url"] for s in state.get("servers", []) if s["name"] == "postgres"), None)


def use_database(dsn: str) -> None:
    os.environ["TP_DB_DSN"] = dsn
    from tradeplane.settings import reset_settings

    reset_settings()


def create_user(dsn: str, username: str, password: str, scopes: list[str] | None = None) -> str:
    use_database(dsn)
    identity = _core()
    user_id = identity.create_user(username, password, *([scopes] if scopes else []))
    return str(user_id)


def _paper_user(dsn: str) -> str:
    """The local paper-trading user, created once (its password is never needed: the CLI signs for it)."""
    use_database(dsn)
    from tradeplane import db

    with db.connection() as conn:
        row = conn.execute("select id from core.users where username = %s", (PAPER_USER,)).fetchone()
    if row is not None:
        return str(row["id"])
    return create_user(dsn, PAPER_USER, secrets.token_urlsafe(24))


def paper_account(state_dir: Path, cash: Decimal) -> dict[str, str]:
    """A new paper account with an API key on the running platform: Alpaca's three variables."""
    state = stack.read_state(state_dir.resolve())
    dsn = local_dsn(state_dir)
    if not state or not dsn:
        raise stack.StackError("the local platform is not up; run `tradeplane local up`")
    gateway = state["runtime"]["gateway"]
    user_id = _paper_user(dsn)
    scopes = list(_core().USER_SCOPES)
    headers = {"Authorization": f"Bearer {local_token(state_dir, subject=user_id, scope=scopes, ttl_s=300)}"}
    with httpx.Client(base_url=gateway, headers=headers, timeout=30, verify=False) as client:  # noqa: S501 - local self-signed TLS
        account = client.post("/v1/accounts", json={"starting_cash": str(cash)})
        account.raise_for_status()
        key = client.post("/v1/api-keys", json={"account_id": account.json()["id"], "label": "paper-account"})
        key.raise_for_status()
    return {
        "APCA_API_KEY_ID": key.json()["key_id"],
        "APCA_API_SECRET_KEY": key.json()["secret"],
        "APCA_API_BASE_URL": gateway,
    }
