"""SQL of the signed exchange between instances: what a package carries, the keys an agency
trusts, and what an imported package leaves (migration 0038, docs/exchange.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from geomon.errors import Conflict, NotFound
from geomon.store.hotspot_inputs import agency_id as agency_id  # the service names agencies by code

EVENT_COLUMNS = (
    "event_key", "kind", "severity", "occurred_at", "state", "device", "zone", "lon", "lat",
    "attrs",
)  # fmt: skip

_EVENTS = """
SELECT e.event_key, e.kind, e.severity, e.occurred_at, e.state, d.uid, z.name,
       ST_X(e.geom), ST_Y(e.geom), e.attrs::text
FROM events e LEFT JOIN devices d ON d.id = e.device_id LEFT JOIN zones z ON z.id = e.zone_id
WHERE e.agency_id = %(agency)s AND e.occurred_at >= %(since)s AND e.occurred_at < %(until)s
  AND e.event_key IS NOT NULL
  AND (%(kinds)s::text[] IS NULL OR e.kind = ANY (%(kinds)s::text[]))
  AND (%(severities)s::text[] IS NULL OR e.severity = ANY (%(severities)s::text[]))
ORDER BY e.occurred_at, e.id
"""


def export_events(
    conn: psycopg.Connection,
    agency: int,
    since: datetime,
    until: datetime,
    kinds: list[str] | None = None,
    severities: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The agency's own events in ``[since, until)`` (optionally of some kinds/severities)."""
    cur = conn.execute(
        _EVENTS,
        {
            "agency": agency,
            "since": since,
            "until": until,
            "kinds": kinds or None,
            "severities": severities or None,
        },
    )
    return [dict(zip(EVENT_COLUMNS, r, strict=True)) for r in cur.fetchall()]


# --- trusted keys ---


@dataclass(frozen=True)
class Partner:
    id: int
    partner: str
    fingerprint: str
    public_key: str
    added_by: str
    added_at: datetime
    revoked_at: datetime | None


def add_partner(
    conn: psycopg.Connection, agency: int, partner: str, public_key: str, fp: str, by: str
) -> Partner:
    """Trust ``public_key`` as ``partner``'s signing key (again, if it was revoked)."""
    row = conn.execute(
        "INSERT INTO exchange_partners (agency_id, partner, public_key, fingerprint, added_by) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (agency_id, fingerprint) DO UPDATE SET "
        "revoked_at = NULL, added_by = EXCLUDED.added_by, added_at = now() "
        "WHERE exchange_partners.partner = EXCLUDED.partner "
        "RETURNING id, partner, fingerprint, public_key, added_by, added_at, revoked_at",
        (agency, partner, public_key, fp, by),
    ).fetchone()
    if row is None:
        raise Conflict(f"key {fp} is already trusted here for another partner")
    return Partner(*row)


def revoke_partner(conn: psycopg.Connection, agency: int, fp: str) -> None:
    cur = conn.execute(
        "UPDATE exchange_partners SET revoked_at = now() "
        "WHERE agency_id = %s AND fingerprint = %s AND revoked_at IS NULL",
        (agency, fp),
    )
    if cur.rowcount == 0:
        raise NotFound(f"no trusted key {fp}")


def partners(conn: psycopg.Connection, agency: int) -> list[Partner]:
    cur = conn.execute(
        "SELECT id, partner, fingerprint, public_key, added_by, added_at, revoked_at "
        "FROM exchange_partners WHERE agency_id = %s ORDER BY partner, added_at",
        (agency,),
    )
    return [Partner(*r) for r in cur.fetchall()]


def trusted_keys(conn: psycopg.Connection, agency: int, partner: str) -> dict[str, str]:
    """Fingerprint → public key of ``partner``'s keys that ``agency`` trusts now."""
    cur = conn.execute(
        "SELECT fingerprint, public_key FROM exchange_partners "
        "WHERE agency_id = %s AND partner = %s AND revoked_at IS NULL",
        (agency, partner),
    )
    return {str(fp): str(key) for fp, key in cur.fetchall()}


# --- imported packages ---


def record_package(
    conn: psycopg.Connection,
    *,
    agency: int,
    partner: str,
    fp: str,
    exported_at: datetime,
    content_sha256: str,
    manifest: Mapping[str, Any],
    counts: Mapping[str, Any],
    by: str,
) -> int | None:
    """The package's row; None when this agency imported the same content before."""
    row = conn.execute(
        "INSERT INTO exchange_packages (agency_id, partner, fingerprint, exported_at, "
        "content_sha256, manifest, counts, imported_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (agency_id, content_sha256) DO NOTHING RETURNING id",
        (agency, partner, fp, exported_at, content_sha256, Jsonb(manifest), Jsonb(counts), by),
    ).fetchone()
    return None if row is None else int(row[0])


def upsert_events(
    conn: psycopg.Connection,
    *,
    agency: int,
    partner: str,
    package_id: int,
    rows: Iterable[Mapping[str, Any]],
) -> tuple[int, int]:
    """Store the partner's events; a later package's version of an event replaces the earlier
    one. Returns (new, changed)."""
    new = changed = 0
    for r in rows:
        lon, lat = r.get("lon"), r.get("lat")
        cur = conn.execute(
            "INSERT INTO exchange_events (agency_id, partner, event_key, package_id, kind, "
            "severity, occurred_at, state, device, zone, properties, geom) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "CASE WHEN %s::float8 IS NULL THEN NULL "
            "ELSE ST_SetSRID(ST_MakePoint(%s::float8, %s::float8), 4326) END) "
            "ON CONFLICT (agency_id, partner, event_key) DO UPDATE SET "
            "package_id = EXCLUDED.package_id, kind = EXCLUDED.kind, "
            "severity = EXCLUDED.severity, occurred_at = EXCLUDED.occurred_at, "
            "state = EXCLUDED.state, device = EXCLUDED.device, zone = EXCLUDED.zone, "
            "properties = EXCLUDED.properties, geom = EXCLUDED.geom "
            "WHERE (exchange_events.kind, exchange_events.severity, exchange_events.occurred_at, "
            "exchange_events.state, exchange_events.properties) IS DISTINCT FROM "
            "(EXCLUDED.kind, EXCLUDED.severity, EXCLUDED.occurred_at, EXCLUDED.state, "
            "EXCLUDED.properties) RETURNING (xmax = 0)",
            (
                agency,
                partner,
                r["event_key"],
                package_id,
                r["kind"],
                r["severity"],
                r["occurred_at"],
                r["state"],
                r.get("device"),
                r.get("zone"),
                Jsonb(r.get("properties") or {}),
                lon if lat is not None else None,
                lon,
                lat,
            ),
        )
        got = cur.fetchone()
        if got is not None:
            new, changed = (new + 1, changed) if got[0] else (new, changed + 1)
    return new, changed


def partner_events(conn: psycopg.Connection, agency: int, partner: str) -> list[tuple[Any, ...]]:
    """(event_key, kind, severity, occurred_at, lon, lat, package_id) of a partner's events."""
    cur = conn.execute(
        "SELECT event_key, kind, severity, occurred_at, ST_X(geom), ST_Y(geom), package_id "
        "FROM exchange_events WHERE agency_id = %s AND partner = %s ORDER BY occurred_at",
        (agency, partner),
    )
    return cur.fetchall()
