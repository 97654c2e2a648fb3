"""`authenticate` on the stream: an API key is checked without the JWT keyset, a token with it."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from tp_streaming.frames import Credentials
from tp_streaming.session import Authenticator
from tradeplane.authorization import AccountAccess, ApiKey, Lookups, TokenPolicy
from tradeplane.tokens import issue_service_token
from tradeplane_tools.keys import generate_keyset

ACCOUNT = str(uuid.uuid4())
KEYS = generate_keyset("k1")
POLICY = TokenPolicy("tradeplane-api", 3600)


class FixedLookups(Lookups):
    """One API key (`PK1` / `s`) bound to ACCOUNT, and that account open to any address."""

    def api_key(self, key_id: str) -> ApiKey | None:
        secret_hash = hashlib.sha256(b"s").digest()
        return ApiKey(secret_hash, "user-1", ACCOUNT, ("trading:read",), True) if key_id == "PK1" else None

    def account(self, account_id: str) -> AccountAccess:
        return AccountAccess(True, ())


def test_an_api_key_is_checked_without_reading_the_keyset() -> None:
    def keyset() -> Mapping[str, Any]:
        raise AssertionError("the keyset secret is read only for a token")

    auth = Authenticator(keyset, POLICY, FixedLookups())
    assert auth.account_of(Credentials(key_id="PK1", secret_key="s"), "10.0.0.1") == (ACCOUNT, "user-1")
    assert auth.account_of(Credentials(key_id="PK1", secret_key="wrong"), "10.0.0.1") is None


def test_a_token_is_verified_with_the_keyset_read_then() -> None:
    reads: list[int] = []

    def keyset() -> Mapping[str, Any]:
        reads.append(1)
        return KEYS

    token = issue_service_token(KEYS, "bot", "tradeplane-api", account_id=ACCOUNT, scope=("trading:read",))
    auth = Authenticator(keyset, POLICY, FixedLookups())
    assert auth.account_of(Credentials(oauth_token=token), "10.0.0.1") == (ACCOUNT, "svc:bot")
    assert reads == [1]
