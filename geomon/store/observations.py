"""Writing BCP / field-sensor observations in batches, and the sensor-alarm events they raise.

Same shape as positions: COPY into a temp staging table, then one INSERT … ON CONFLICT DO
NOTHING on (sensor_id, observed_at, kind), so a resent reading is absorbed. Only newly
inserted alarm observations raise an ``events`` row (``sensor_alarm``), so a replay never
raises an alarm twice; newly inserted plate reads are matched against the watch-lists
(geomon.store.watchlist_matching) in the same transaction. :func:`raise_sensor_alarms` is
deliberately small: the event engine (geomon/alerts, issue 8) may replace it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from geomon.model import Observation
from geomon.plates import NormalisedPlate, normalise_plate
from geomon.store.events import announce_new
from geomon.store.storable import text
from geomon.store.watchlist_matching import match_plate_reads

# Observation kinds that are alarms, and the severity of the event they raise.
ALARM_SEVERITY: dict[str, str] = {
    "radiation_alarm": "critical",
    "intrusion": "critical",
}

_COLUMNS = (
    "sensor_id, observed_at, received_at, kind, value, text, geom, attrs, raw, "
    "plate_norm, plate_country"
)

_CREATE_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS observations_stage "
    "(sensor_id int, observed_at timestamptz, received_at timestamptz, kind text, "
    "value float8, text text, geom geometry(Point, 4326), attrs jsonb, raw bytea, "
    "plate_norm text, plate_country text) ON COMMIT DELETE ROWS"
)

# An observation without its own position takes its sensor's: the device's fixed point,
# else its place's (a BCP), so every alarm is on the map at its post.
_MERGE = f"""
INSERT INTO observations ({_COLUMNS})
SELECT DISTINCT ON (s.sensor_id, s.observed_at, s.kind) s.sensor_id, s.observed_at,
       s.received_at, s.kind, s.value, s.text, coalesce(s.geom, d.geom, p.geom), s.attrs, s.raw,
       s.plate_norm, s.plate_country
FROM observations_stage s
JOIN devices d ON d.id = s.sensor_id
LEFT JOIN places p ON p.id = d.place_id
ORDER BY s.sensor_id, s.observed_at, s.kind
ON CONFLICT (sensor_id, observed_at, kind) DO NOTHING
RETURNING id, sensor_id, observed_at, kind, plate_norm, value
"""

_EVENTS = """
INSERT INTO events (agency_id, device_id, kind, severity, occurred_at, geom, attrs, event_key)
SELECT d.agency_id, d.id, 'sensor_alarm', a.severity, o.observed_at, o.geom,
       jsonb_build_object('observation_id', o.id, 'observation_kind', o.kind,
                          'value', o.value, 'text', o.text, 'sensor', d.uid) || o.attrs,
       'sensor_alarm:' || o.id
FROM observations o
JOIN devices d ON d.id = o.sensor_id
JOIN unnest(%s::text[], %s::text[]) AS a(kind, severity) ON a.kind = o.kind
WHERE o.id = ANY(%s)
ON CONFLICT (event_key) DO NOTHING
RETURNING id
"""


@dataclass(frozen=True, slots=True)
class ObservationResult:
    """What a batch did: rows inserted, resends absorbed, alarm events raised."""

    inserted: int
    duplicates: int
    alarms: int
    watchlist_events: int = 0


def observation_row(sensor_id: int, o: Observation, received_at: datetime) -> tuple[Any, ...]:
    """One COPY row for ``observations_stage``."""
    geom = None if o.lat is None or o.lon is None else f"SRID=4326;POINT({o.lon!r} {o.lat!r})"
    plate = plate_of(o)
    return (
        sensor_id,
        o.observed_at,
        received_at,
        o.kind,
        o.value,
        None if o.text is None else text(o.text),  # a NUL is kept visibly (U+FFFD), not refused
        geom,
        json.dumps(o.attrs, default=str),
        o.raw,
        plate.plate if plate else None,
        plate.country if plate else None,
    )


def plate_of(o: Observation) -> NormalisedPlate | None:
    """The normalised plate of a ``plate_read`` (``None``: stored as observed, never matched).
    The camera's country (``attributes.country``) is used when it is a string."""
    if o.kind != "plate_read" or not isinstance(o.text, str):
        return None
    country = o.attrs.get("country") if isinstance(o.attrs, dict) else None
    return normalise_plate(o.text, country if isinstance(country, str) else None)


async def write_observations(
    conn: psycopg.AsyncConnection, rows: list[tuple[Any, ...]], *, match_watchlists: bool = True
) -> ObservationResult:
    """Write staged rows in the caller's transaction (the caller commits, then acks). Newly
    stored plate reads are matched against the watch-lists in the same transaction, so their
    events commit (and are announced) with them."""
    await conn.execute(_CREATE_STAGE)
    async with conn.cursor() as cur:
        async with cur.copy(f"COPY observations_stage ({_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                await copy.write_row(row)
        await cur.execute(_MERGE)
        inserted = await cur.fetchall()
    alarms = await raise_sensor_alarms(conn, inserted)
    plates = [(int(r[0]), r[5]) for r in inserted if r[4] is not None] if match_watchlists else []
    hits = await match_plate_reads(conn, plates) if plates else []
    return ObservationResult(len(inserted), len(rows) - len(inserted), alarms, len(hits))


async def raise_sensor_alarms(
    conn: psycopg.AsyncConnection, inserted: list[tuple[Any, ...]]
) -> int:
    """One ``sensor_alarm`` event per newly stored alarm observation; returns how many."""
    ids = [row[0] for row in inserted if row[3] in ALARM_SEVERITY]
    if not ids:
        return 0
    cur = await conn.execute(_EVENTS, (list(ALARM_SEVERITY), list(ALARM_SEVERITY.values()), ids))
    event_ids = [int(r[0]) for r in await cur.fetchall()]
    await announce_new(conn, event_ids)  # live stream and webhook/MQTT, like every event
    return len(event_ids)


async def count_observations(conn: psycopg.AsyncConnection, sensor_uid: str) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM observations o JOIN devices d ON d.id = o.sensor_id WHERE d.uid = %s",
        (sensor_uid,),
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0
