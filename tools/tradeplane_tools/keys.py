"""JWT signing-key administration: create a keyset, rotate it. Deploy-time tooling, never in Lambda.

The keyset is the JSON the `jwt-signing-keys` secret holds (see `tradeplane.tokens`).
Rotation adds a key and makes it active while the previous keys stay for
verification, so tokens signed before the rotation keep working until they expire.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def _new_es256_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def generate_keyset(kid: str | None = None, *, issuer: str = "tradeplane") -> dict[str, Any]:
    """A new keyset with one ES256 key (store it as the secret's JSON string)."""
    kid = kid or datetime.now(UTC).strftime("k%Y%m%d%H%M%S")
    private_pem, public_pem = _new_es256_pair()
    return {
        "active_kid": kid,
        "issuer": issuer,
        "keys": {kid: {"alg": "ES256", "private_pem": private_pem, "public_pem": public_pem}},
    }


def rotate_keyset(keyset: Mapping[str, Any], new_kid: str, *, keep: int = 2) -> dict[str, Any]:
    """Add a new ES256 key and make it active, keeping the newest `keep` keys for verification."""
    current = dict(keyset)
    keys = dict(current.get("keys", {}))
    if new_kid in keys:
        raise ValueError(f"kid {new_kid!r} already exists")
    private_pem, public_pem = _new_es256_pair()
    keys[new_kid] = {"alg": "ES256", "private_pem": private_pem, "public_pem": public_pem}
    kept = list(keys)[-max(keep, 1) :]
    return {**current, "active_kid": new_kid, "keys": {k: keys[k] for k in kept}}
