"""How Python values go to the server: aware datetimes are sent as text in UTC.

PostgreSQL accepts UTC offsets only up to ±15:59, while RFC 3339 (and Python) allow any offset
under a day: a valid ``2026-11-29T00:00:00-20:27`` would fail the statement with ``time zone
displacement out of range`` (a 500 on ``POST /api/v1/incidents``, found by schemathesis).
psycopg's text dumper sends ``str(obj)`` with the offset; this one sends the same instant in
UTC. (The binary dumper already sends microseconds since the epoch, so it needs nothing.)
An instant with no UTC form inside the years 1-9999 is a clear InvalidRequest.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from psycopg.abc import Buffer
from psycopg.types.datetime import DatetimeDumper

from geomon.errors import InvalidRequest


class UtcDatetimeDumper(DatetimeDumper):
    def dump(self, obj: datetime) -> Buffer | None:
        try:
            utc = obj.astimezone(UTC)
        except OverflowError:
            raise InvalidRequest(
                f"time {obj.isoformat()} has no UTC form in the years 1-9999"
            ) from None
        return super().dump(utc)


def register() -> None:
    """Install the dumper on psycopg's global adapters (used by every later connection)."""
    psycopg.adapters.register_dumper(datetime, UtcDatetimeDumper)
