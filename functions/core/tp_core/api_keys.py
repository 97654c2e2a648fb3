"""API keys for programs: bound to one account, scoped, hashed at rest, revocable, listable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from psycopg import Connection
from tradeplane import db
from tradeplane.auth import Principal
from tradeplane.problems import not_found, unprocessable

from tp_core import credentials
from tp_core.access import user_id
from tp_core.models import ApiKeyCreate

_COLUMNS = "key_id, account_id, scopes, label, created_at, revoked_at"


def _key_view(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "account_id": str(row["account_id"]), "scopes": list(row["scopes"])}


@dataclass(frozen=True)
class CreatedKey:
    view: dict[str, Any]
    replayed: bool  # an earlier request with the same Idempotency-Key created it


def create_api_key(caller: Principal, request: ApiKeyCreate, idempotency_key: str | None = None) -> CreatedKey:
    """A new key for one of the caller's active accounts; the secret is in this answer only.

    With an Idempotency-Key, a retry finds the key the first attempt made (same id, `secret` null:
    only its hash is kept); the same key with another account, label or scopes is 422."""
    owner = user_id(caller, "api-keys")
    key_id, secret = credentials.new_api_key()
    scopes = sorted(set(request.scopes))
    with db.transaction() as conn:
        row = conn.execute(
            f"""insert into core.api_keys (key_id, secret_hash, user_id, account_id, scopes, label, creation_key)
            select %s, %s, a.owner_id, a.id, %s, %s, %s from core.accounts a
            where a.id = %s and a.owner_id = %s and a.status = 'ACTIVE'
            on conflict (user_id, creation_key) do nothing
            returning {_COLUMNS}""",
            (key_id, credentials.sha256(secret), scopes, request.label, idempotency_key, request.account_id, owner),
        ).fetchone()
        if row is None and idempotency_key is not None:
            earlier = _created_with(conn, owner, idempotency_key)
            if earlier is not None:
                if (earlier["account_id"], sorted(earlier["scopes"]), earlier["label"]) != (
                    request.account_id,
                    scopes,
                    request.label,
                ):
                    raise unprocessable("this Idempotency-Key was used to create a different API key")
                return CreatedKey({**_key_view(earlier), "secret": None}, replayed=True)
    if row is None:
        raise not_found("no such account")
    return CreatedKey({**_key_view(row), "secret": secret}, replayed=False)


def _created_with(conn: Connection[Any], owner: uuid.UUID, idempotency_key: str) -> dict[str, Any] | None:
    row = conn.execute(
        f"select {_COLUMNS} from core.api_keys where user_id = %s and creation_key = %s", (owner, idempotency_key)
    ).fetchone()
    return dict(row) if row is not None else None


def list_api_keys(caller: Principal) -> list[dict[str, Any]]:
    owner = user_id(caller, "api-keys")
    with db.connection() as conn:  # the primary: a key is listed right after it is created
        rows = conn.execute(
            f"select {_COLUMNS} from core.api_keys where user_id = %s order by created_at", (owner,)
        ).fetchall()
    return [_key_view(r) for r in rows]


def revoke_api_key(caller: Principal, key_id: str) -> None:
    """Revoke one of the caller's keys (idempotent: revoking twice is fine; another user's key is 404)."""
    owner = user_id(caller, "api-keys")
    with db.transaction() as conn:
        row = conn.execute(
            "update core.api_keys set revoked_at = coalesce(revoked_at, now()) where key_id = %s and user_id = %s"
            " returning key_id",
            (key_id, owner),
        ).fetchone()
    if row is None:
        raise not_found("no such API key")
