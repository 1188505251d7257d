"""One error tree for the whole project.

::

    GeomonError
    ├── ConfigError              settings missing or contradictory
    ├── DecodeError              a frame or message could not be decoded (data, not a crash)
    │   ├── ChecksumError        NMEA checksum / Teltonika CRC mismatch
    │   └── FrameError           bad length, truncated, unknown codec, garbage
    ├── StoreError               the database refused or is unreachable
    │   └── DatabaseUnavailable  connection-level failure: ride it out (spool, retry)
    ├── NotFound                 a requested row does not exist (or is not visible to the caller)
    ├── InvalidRequest           a caller's parameters are wrong; the message says what
    │   └── Conflict             well-formed, but clashes with the current state (a name
    │                            taken, an event already acknowledged)
    ├── AuthError                not authenticated / not allowed
    │   └── Forbidden
    ├── Overloaded               a bounded queue is full: back off and retry
    └── SpatialError             an analysis cannot run on its input (empty grid, bad CRS…)

API routes map these to HTTP statuses in one table (api/errors.py); ingest adapters count
DecodeError and keep the connection.
"""

from __future__ import annotations


class GeomonError(Exception):
    """Base of every error geomon raises on purpose."""


class ConfigError(GeomonError):
    """Settings are missing or contradictory."""


class DecodeError(GeomonError):
    """A frame or message could not be decoded; callers count it and carry on."""

    frame: bytes = b""  # the raw frame, when the decoder knows it (logged as hex)


class ChecksumError(DecodeError):
    """An NMEA checksum or a Teltonika CRC did not match."""


class FrameError(DecodeError):
    """A frame has a bad length, is truncated, or is not of a known kind."""


class StoreError(GeomonError):
    """The database refused an operation."""


class DatabaseUnavailable(StoreError):
    """The database cannot be reached; callers spool and retry."""


class NotFound(GeomonError):
    """A requested row does not exist or the caller may not see it."""


class InvalidRequest(GeomonError):
    """A caller's parameters are wrong; the message says what is wrong."""


class Conflict(InvalidRequest):
    """The request is well-formed but clashes with the current state of a resource: a name
    already taken, an event already in the state asked for. HTTP answers 409."""


class AuthError(GeomonError):
    """The caller is not authenticated."""


class Forbidden(AuthError):
    """The caller is authenticated but not allowed to do this."""


class Overloaded(GeomonError):
    """A bounded queue is full; the caller should retry later."""

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SpatialError(GeomonError):
    """An analysis cannot run on its input."""
