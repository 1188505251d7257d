"""Which devices may report, and per-device token checks for HTTP/MQTT sources.

Answers come from the ``devices`` table and are cached, so a tracker that registered once
is still accepted (its data spooled) while the database is down. Token hashes are argon2
(``geomon devices add --token``); a verified token is cached by its SHA-256 so argon2's
deliberate slowness is paid once per device and token, not per request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from geomon.store.devices import active_device_token_hash

log = logging.getLogger(__name__)
_HASHER = PasswordHasher()


class DeviceRegistry:
    """Async, cached view of the device registry for the listeners."""

    def __init__(self, url: str, *, accept_unknown: bool = False, ttl_s: float = 60.0) -> None:
        self._url = url
        self.accept_unknown = accept_unknown
        self._ttl_s = ttl_s
        self._known: dict[str, tuple[float, str | None]] = {}  # uid -> (checked, token_hash)
        self._tokens_ok: dict[str, str] = {}  # uid -> sha256 of the verified token
        self._lock = asyncio.Lock()
        self._conn: psycopg.AsyncConnection | None = None

    async def _query(self, uid: str) -> tuple[str | None] | None:
        """One lookup on a kept-open connection (a fleet reconnecting at once must not open
        a connection per device)."""
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._url, connect_timeout=3, autocommit=True, application_name="geomon-registry"
            )
        return await active_device_token_hash(self._conn, uid)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def _lookup(self, uid: str) -> tuple[bool, str | None] | None:
        """(registered, token_hash), from cache or DB; None when the DB cannot say."""
        cached = self._known.get(uid)
        if cached is not None and time.monotonic() - cached[0] < self._ttl_s:
            return True, cached[1]
        try:
            async with self._lock:
                row = await self._query(uid)
        except (psycopg.Error, OSError) as exc:
            log.warning("registry unavailable (%s); using the cache for %s", exc, uid)
            self._conn = None
            return (True, cached[1]) if cached is not None else None
        if row is None:
            self._known.pop(uid, None)
            return False, None
        self._known[uid] = (time.monotonic(), row[0])
        return True, row[0]

    async def allows(self, uid: str) -> bool | None:
        """May ``uid`` report? None: unknown while the database is unreachable."""
        if self.accept_unknown:
            return True
        found = await self._lookup(uid)
        return None if found is None else found[0]

    async def has_token(self, uid: str) -> bool | None:
        """Must ``uid`` present its ingest token? None while the database is unreachable."""
        if self.accept_unknown:
            return False
        found = await self._lookup(uid)
        return None if found is None else bool(found[0] and found[1])

    async def token_ok(self, uid: str, token: str | None) -> bool | None:
        """Does ``token`` authenticate ``uid``? (accept-unknown demos skip the check)."""
        if self.accept_unknown:
            return True
        found = await self._lookup(uid)
        if found is None:
            return None
        registered, token_hash = found
        if not registered or not token or not token_hash:
            return False
        digest = hashlib.sha256(token.encode()).hexdigest()
        if self._tokens_ok.get(uid) == digest:
            return True
        try:
            await asyncio.to_thread(_HASHER.verify, token_hash, token)
        except (VerificationError, InvalidHashError):
            return False
        self._tokens_ok[uid] = digest
        return True


def hash_token(token: str) -> str:
    """The argon2 hash stored in ``devices.token_hash``."""
    return _HASHER.hash(token)
