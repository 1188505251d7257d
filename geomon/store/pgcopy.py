"""PostgreSQL's binary COPY format, written directly: a row is one ``bytes`` built with a few
``struct`` packs. psycopg's ``write_row`` pays per row for a coroutine, a dumper per field and
an awaited flush every 32 kB; the ingest writer sends one buffer per batch instead.

Format: https://www.postgresql.org/docs/15/sql-copy.html (Binary Format): a header, then per
row an int16 field count and per field an int32 length (-1: NULL) and the type's binary
(``*_recv``) representation; an int16 -1 ends the data.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # no flags, no ext
TRAILER = b"\xff\xff"
NULL = b"\xff\xff\xff\xff"

_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_F8 = struct.Struct(">id")
_I2 = struct.Struct(">ih")
_LEN = struct.Struct(">i")
_TRUE, _FALSE = b"\x00\x00\x00\x01\x01", b"\x00\x00\x00\x01\x00"


def timestamptz_us(t: datetime) -> int:
    """A tz-aware datetime as timestamptz's binary value: microseconds since 2000-01-01 UTC
    (exact integer arithmetic; a naive datetime raises TypeError)."""
    return (t - _PG_EPOCH) // _US


def from_timestamptz_us(us: int) -> datetime:
    return _PG_EPOCH + timedelta(microseconds=us)


def float8(v: float | None) -> bytes:
    return NULL if v is None else _F8.pack(8, v)


def int2(v: int | None) -> bytes:
    return NULL if v is None else _I2.pack(2, v)


def boolean(v: bool) -> bytes:
    return _TRUE if v else _FALSE


def varlena(data: bytes | None) -> bytes:
    """bytea, text (UTF-8) or any type whose binary form is the bytes as they are."""
    return NULL if data is None else _LEN.pack(len(data)) + data
