"""Passwords and tokens: argon2id hashes for passwords, random tokens stored as sha256.

Passwords use argon2-cffi's RFC 9106 "low memory" profile (argon2id, t=3, m=64 MiB, p=4),
above OWASP's current minimum (m=19 MiB, t=2, p=1). Tokens and session cookies carry 256 bits
of randomness, so a fast sha256 of them is enough to store (nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
# Verified against when the user does not exist, so both paths cost one argon2 verification.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))

# Device ingest tokens are long random secrets too, but ``devices.token_hash`` has always been
# argon2 (the registry verifies once per device and token, then caches): default parameters.
_INGEST_HASHER = PasswordHasher()

USER_TOKEN_PREFIX = "gmu_"
DEVICE_TOKEN_PREFIX = "gmd_"
SESSION_PREFIX = "gms_"
MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing user still pays for one verification."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


def generate_password() -> str:
    """A one-time password: 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def new_ingest_token() -> tuple[str, str]:
    """A device's ingest token and the argon2 hash kept in ``devices.token_hash`` — the one
    token system ingest reads (sensors.registry). The ``gmd_`` prefix lets the API refuse it
    with a clear 403 when somebody presents it as an API token."""
    token = new_token(DEVICE_TOKEN_PREFIX)
    return token, _INGEST_HASHER.hash(token)


def token_digest(token: str) -> str:
    """What the database stores for a token or session cookie."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
