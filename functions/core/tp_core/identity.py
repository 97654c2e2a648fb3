"""Users and sign-in: the password grant, rotating refresh tokens, token families.

A sign-in opens a refresh token family. Each refresh marks the presented token
rotated and issues the next one; presenting a token that was already rotated
means someone replayed it, so the whole family is revoked and both holders must
sign in again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from psycopg import Connection
from tradeplane import db
from tradeplane.problems import Problem, conflict, unauthorized
from tradeplane.tokens import issue

from tp_core import credentials
from tp_core.models import USER_SCOPES, PasswordGrant, RefreshGrant

ACCESS_TTL_S = 900
REFRESH_TTL = timedelta(days=30)


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    scope: str
    expires_in: int = ACCESS_TTL_S
    token_type: str = "Bearer"  # noqa: S105 (the OAuth token type, not a secret)


def create_user(username: str, password: str, scopes: Sequence[str] = USER_SCOPES) -> uuid.UUID:
    """A new user (the `tradeplane admin create-user` CLI and tests)."""
    user_id = uuid.uuid4()
    with db.transaction() as conn:
        row = conn.execute(
            "insert into core.users (id, username, password_hash, scopes) values (%s, %s, %s, %s)"
            " on conflict (username) do nothing returning id",
            (user_id, username.lower(), credentials.hash_password(password), list(scopes)),
        ).fetchone()
    if row is None:
        raise conflict("a user with this username exists")
    return user_id


def _invalid_grant() -> Problem:
    return unauthorized("invalid credentials or refresh token", code=40110000)


def _owned_account(conn: Connection[Any], user_id: uuid.UUID, account_id: uuid.UUID | None) -> str | None:
    if account_id is None:
        return None
    row = conn.execute(
        "select id from core.accounts where id = %s and owner_id = %s and status = 'ACTIVE'", (account_id, user_id)
    ).fetchone()
    if row is None:
        raise _invalid_grant()
    return str(account_id)


def _open_family(conn: Connection[Any], user_id: uuid.UUID, account: str | None) -> str:
    family = uuid.uuid4()
    conn.execute(
        "insert into core.refresh_families (id, user_id, account_id) values (%s, %s, %s)", (family, user_id, account)
    )
    return _new_refresh(conn, family)


def _new_refresh(conn: Connection[Any], family: uuid.UUID) -> str:
    token = credentials.new_refresh_token()
    conn.execute(
        "insert into core.refresh_tokens (token_hash, family_id, expires_at) values (%s, %s, now() + %s)",
        (credentials.sha256(token), family, REFRESH_TTL),
    )
    return token


def _grant(
    keyset: Mapping[str, Any], audience: str, user: Mapping[str, Any], account: str | None, refresh: str
) -> TokenGrant:
    claims = {"token_use": "access", **({"account_id": account} if account else {})}
    scopes = list(user["scopes"])
    access = issue(keyset, str(user["id"]), audience, ttl_s=ACCESS_TTL_S, scope=scopes, extra_claims=claims)
    return TokenGrant(access, refresh, " ".join(scopes))


def password_grant(grant: PasswordGrant, *, keyset: Mapping[str, Any], audience: str) -> TokenGrant:
    with db.transaction() as conn:
        user = conn.execute(
            "select id, password_hash, scopes from core.users where username = %s and disabled_at is null",
            (grant.username.lower(),),
        ).fetchone()
        stored = user["password_hash"] if user else credentials.dummy_password_hash()
        if not credentials.verify_password(grant.password, stored) or user is None:
            raise _invalid_grant()
        account = _owned_account(conn, user["id"], grant.account_id)
        refresh = _open_family(conn, user["id"], account)  # a refresh keeps the account binding
    return _grant(keyset, audience, user, account, refresh)


_PRESENTED = """
select t.family_id, t.rotated_at, t.expires_at < now() as expired, f.revoked_at, f.account_id,
       u.id, u.scopes, u.disabled_at
from core.refresh_tokens t
join core.refresh_families f on f.id = t.family_id
join core.users u on u.id = f.user_id
where t.token_hash = %s
for update of t, f
"""


def _refresh_verdict(row: Mapping[str, Any] | None) -> str:
    if row is None or row["revoked_at"] or row["expired"] or row["disabled_at"]:
        return "invalid"
    return "reused" if row["rotated_at"] is not None else "ok"


def refresh_grant(grant: RefreshGrant, *, keyset: Mapping[str, Any], audience: str) -> TokenGrant:
    token_hash = credentials.sha256(grant.refresh_token)
    with db.transaction() as conn:
        row = conn.execute(_PRESENTED, (token_hash,)).fetchone()  # locks the token and its family
        verdict = _refresh_verdict(row)
        if row is not None and verdict == "reused":
            conn.execute(
                "update core.refresh_families set revoked_at = now(), revoked_reason = 'reuse' where id = %s",
                (row["family_id"],),
            )
        elif row is not None and verdict == "ok":
            conn.execute("update core.refresh_tokens set rotated_at = now() where token_hash = %s", (token_hash,))
            refresh = _new_refresh(conn, row["family_id"])
    # Raised after the commit: a replay must cost the family even though the request fails.
    if row is None or verdict != "ok":
        raise _invalid_grant()
    account = str(row["account_id"]) if row["account_id"] else None
    return _grant(keyset, audience, row, account, refresh)


def issue_tokens(request: PasswordGrant | RefreshGrant, *, keyset: Mapping[str, Any], audience: str) -> dict[str, Any]:
    """The token endpoint: either grant, answered in OAuth 2.0's token response shape."""
    if isinstance(request, PasswordGrant):
        return asdict(password_grant(request, keyset=keyset, audience=audience))
    return asdict(refresh_grant(request, keyset=keyset, audience=audience))
