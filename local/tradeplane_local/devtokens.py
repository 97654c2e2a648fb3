"""Mint tokens signed with the local platform's keyset (held in the local moto Secrets Manager)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tradeplane.tokens import issue

from tradeplane_local import provision, stack


def local_keyset(state_dir: Path) -> dict[str, object]:
    state = stack.read_state(state_dir.resolve())
    if not state or "bindings" not in state:
        raise stack.StackError("the local platform is not up; run `tradeplane local up`")
    moto = next(s for s in state["servers"] if s["name"] == "moto")
    secret = state["bindings"]["secret_ids"]["jwt-signing-keys"]
    value = provision.aws_client("secretsmanager", moto["url"]).get_secret_value(SecretId=secret)
    keyset: dict[str, object] = json.loads(value["SecretString"])
    return keyset


def local_token(
    state_dir: Path, *, subject: str, audience: str = "tradeplane-api", scope: Sequence[str] = (), ttl_s: int = 900
) -> str:
    return issue(local_keyset(state_dir), subject, audience, scope=scope, ttl_s=ttl_s)
