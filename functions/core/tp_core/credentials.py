"""Secrets users hold and the forms we keep of them.

Passwords are low-entropy, so they get scrypt (memory-hard, per-user salt, the
parameters stored with the hash so they can grow later). API key secrets and
refresh tokens are 256-bit random values: a single SHA-256 is enough to make a
leaked table useless, and it keeps the authorizer's per-request check cheap.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import string

SCRYPT_N = 2**14  # 16 MiB with r=8: memory-hard, ~50 ms here
SCRYPT_R = 8
SCRYPT_P = 1
_KEY_ALPHABET = string.ascii_uppercase + string.digits


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


@functools.cache
def dummy_password_hash() -> str:
    """Verified against when the user does not exist, so both answers take as long (built on first use)."""
    return hash_password(secrets.token_urlsafe(16))


def sha256(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def new_api_key() -> tuple[str, str]:
    """(key id, secret): Alpaca-like shapes, "PK" + 18 characters and a 43-character secret."""
    key_id = "PK" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(18))
    return key_id, secrets.token_urlsafe(32)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)
