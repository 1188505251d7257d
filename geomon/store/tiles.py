"""Vector tiles (MVT) built in PostGIS, and the change counters the tile cache keys on.

Each layer is a SQL source yielding ``geom`` (EPSG:4326) and its attributes, plus the tables
it reads (whose ``layer_versions`` counters invalidate cached tiles). The tile query is the
usual ``ST_TileEnvelope`` → ``ST_AsMVTGeom`` → ``ST_AsMVT`` pipeline; rows are selected with
the 4326 geometry's GiST index against the tile envelope (plus its buffer) transformed to 4326.
Row visibility is the caller's row-level security, as everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from geomon.errors import NotFound
from geomon.store import forecast_layers

EXTENT = 4096
BUFFER = 64


@dataclass(frozen=True)
class TileLayer:
    """A vector-tile layer: its SQL source, attribute fields and zoom range."""

    id: str
    description: str
    source: str  # SELECT geom, <attributes> …
    fields: dict[str, str]  # attribute → TileJSON type (String, Number, Boolean)
    tables: tuple[str, ...]
    minzoom: int = 0
    maxzoom: int = 22
    recent_days: int = 0  # > 0: only fixes since the start of the UTC day (recent_days - 1) ago

    def since(self, now: datetime) -> datetime | None:
        """Start of this layer's time window at ``now`` (part of its cache key), or None."""
        if self.recent_days <= 0:
            return None
        day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return day - timedelta(days=self.recent_days - 1)


LAYERS: dict[str, TileLayer] = {
    t.id: t
    for t in (
        TileLayer(
            "positions-latest",
            "Each device's latest fix.",
            "SELECT l.geom, l.device_id, d.uid, d.name, l.fix_time::text fix_time, "
            "l.speed_mps, l.course_deg FROM device_latest l JOIN devices d ON d.id = l.device_id",
            {
                "device_id": "Number",
                "uid": "String",
                "name": "String",
                "fix_time": "String",
                "speed_mps": "Number",
                "course_deg": "Number",
            },
            ("device_latest", "devices"),
        ),
        TileLayer(
            "tracks",
            "Today's and yesterday's tracks (UTC): one line per device and day "
            "through its valid fixes in the tile and its buffer. Older days: OGC tracks.",
            "SELECT ST_MakeLine(p.geom ORDER BY p.fix_time) geom, p.device_id, "
            "((p.fix_time AT TIME ZONE 'UTC')::date)::text AS day, count(*) n_fixes "
            "FROM positions p WHERE p.valid AND p.geom && {env} "
            "AND p.fix_time >= %(since)s GROUP BY 2, 3",
            {"device_id": "Number", "day": "String", "n_fixes": "Number"},
            ("positions",),
            minzoom=5,
            recent_days=2,
        ),
        TileLayer(
            "positions",
            "Every valid fix of today and yesterday (UTC), high zooms only.",
            "SELECT p.geom, p.device_id, p.fix_time::text fix_time, p.speed_mps "
            "FROM positions p WHERE p.valid AND p.geom && {env} AND p.fix_time >= %(since)s",
            {"device_id": "Number", "fix_time": "String", "speed_mps": "Number"},
            ("positions",),
            minzoom=10,
            recent_days=2,
        ),
        TileLayer(
            "incidents",
            "Seizures, detentions and detections.",
            "SELECT geom, id, category, quantity, unit, occurred_at::text occurred_at "
            "FROM incidents",
            {
                "id": "Number",
                "category": "String",
                "quantity": "Number",
                "unit": "String",
                "occurred_at": "String",
            },
            ("incidents",),
        ),
        TileLayer(
            "zones",
            "Geofences and patrol areas.",
            "SELECT geom, id, name, kind, active FROM zones",
            {"id": "Number", "name": "String", "kind": "String", "active": "Boolean"},
            ("zones",),
        ),
        TileLayer(
            "borders",
            "State borders.",
            "SELECT geom, id, code FROM borders",
            {"id": "Number", "code": "String"},
            ("borders",),
        ),
        TileLayer(
            "places",
            "Crossing points, dry ports, offices.",
            "SELECT geom, id, name, kind, countries FROM places",
            {"id": "Number", "name": "String", "kind": "String", "countries": "String"},
            ("places",),
        ),
        TileLayer(
            "events",
            "Events with a location.",
            "SELECT geom, id, kind, severity, state, occurred_at::text occurred_at "
            "FROM events WHERE geom IS NOT NULL",
            {
                "id": "Number",
                "kind": "String",
                "severity": "String",
                "state": "String",
                "occurred_at": "String",
            },
            ("events",),
        ),
    )
}

_HOTSPOT_FIELDS = {
    "cell_id": "Number",
    "value": "Number",
    "z": "Number",
    "p": "Number",
    "gi_bin": "Number",
    "gi_bin_fdr": "Number",
    "category": "String",
}


def hotspot_layer(run_id: int) -> TileLayer:
    return TileLayer(
        f"hotspots-{run_id}",
        f"Cells of hotspot run {run_id}.",
        "SELECT geom, cell_id, value, z, p, gi_bin, gi_bin_fdr, category FROM hotspot_cells "
        f"WHERE run_id = {int(run_id)}",
        _HOTSPOT_FIELDS,
        _HOTSPOT_TABLES,
    )


def forecast_layer(run_id: int) -> TileLayer:
    fl = forecast_layers
    return TileLayer(
        f"{fl.PREFIX}-{run_id}",
        f"Locations of forecast run {run_id}: expected next step, trust flag.",
        fl.TILE_SOURCE.format(run=int(run_id)),
        fl.TILE_FIELDS,
        fl.TABLES,
    )


async def get_layer(conn: psycopg.AsyncConnection, layer_id: str) -> TileLayer:
    """The layer ``layer_id``; hotspot and forecast runs only when visible to the caller."""
    if layer_id in LAYERS:
        return LAYERS[layer_id]
    fid = forecast_layers.run_id_of(layer_id)
    if fid is not None:
        cur = await conn.execute("SELECT 1 FROM forecast_runs WHERE id = %s", (fid,))
        if await cur.fetchone():
            return forecast_layer(fid)
    prefix, _, num = layer_id.partition("-")
    if prefix == "hotspots" and num.isdigit():
        cur = await conn.execute("SELECT 1 FROM hotspot_runs WHERE id = %s", (int(num),))
        if await cur.fetchone():
            return hotspot_layer(int(num))
    raise NotFound(f"no tile layer {layer_id!r}")


def tile_sql(layer: TileLayer) -> str:
    """The MVT query of ``layer`` for parameters z, x, y (one layer named after the id)."""
    env4326 = (
        f"ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {BUFFER / EXTENT}), 4326)"
    )
    source = layer.source.replace("{env}", env4326)
    cols = ", ".join(f"s.{f}" for f in layer.fields)
    return (
        f"WITH b AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) env, {env4326} env4326), "
        f"mvt AS (SELECT ST_AsMVTGeom(ST_Transform(s.geom, 3857), b.env, {EXTENT}, {BUFFER}, "
        f"true) geom, {cols} FROM ({source}) s, b WHERE s.geom && b.env4326) "
        f"SELECT ST_AsMVT(mvt.*, %(name)s, {EXTENT}, 'geom') FROM mvt"
    )


async def render_tile(
    conn: psycopg.AsyncConnection,
    layer: TileLayer,
    z: int,
    x: int,
    y: int,
    since: datetime | None = None,
) -> bytes:
    cur = await conn.execute(
        tile_sql(layer),
        {"z": z, "x": x, "y": y, "name": layer.id, "since": since},
    )
    row = await cur.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


# The change counters of the tables %s as one string (part of tile cache keys and ETags).
LAYER_VERSION_SQL = (
    "SELECT string_agg(table_name || ':' || version, ',' ORDER BY table_name) "
    "FROM layer_versions WHERE table_name = ANY(%s)"
)
_HOTSPOT_TABLES = ("hotspot_cells", "hotspot_runs")


def layer_tables(layer_id: str) -> tuple[str, ...]:
    """The tables behind ``layer_id`` without asking the database (whether a hotspot run
    exists and is visible is :func:`get_layer`'s question); () for unknown ids."""
    if layer_id in LAYERS:
        return LAYERS[layer_id].tables
    if forecast_layers.run_id_of(layer_id) is not None:
        return forecast_layers.TABLES
    prefix, _, num = layer_id.partition("-")
    return _HOTSPOT_TABLES if prefix == "hotspots" and num.isdigit() else ()


def version_text(rows: list[tuple[object, ...]]) -> str:
    """The result of :data:`LAYER_VERSION_SQL` as the version string."""
    return str(rows[0][0]) if rows and rows[0][0] else ""


async def layer_version(conn: psycopg.AsyncConnection, tables: tuple[str, ...]) -> str:
    """The change counters of ``tables`` as one string (part of tile cache keys and ETags)."""
    cur = await conn.execute(LAYER_VERSION_SQL, (list(tables),))
    return version_text(await cur.fetchall())


async def layer_bounds(
    conn: psycopg.AsyncConnection, layer: TileLayer
) -> tuple[float, float, float, float] | None:
    """The layer's extent in lon/lat (TileJSON ``bounds``); tracks use the latest positions."""
    src = layer.source.replace("{env}", "ST_MakeEnvelope(-180, -90, 180, 90, 4326)").replace(
        "%(since)s", "'-infinity'"
    )
    if layer.id in ("tracks", "positions"):
        src = "SELECT geom FROM device_latest"
    cur = await conn.execute(
        f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        f"(SELECT ST_Extent(s.geom)::geometry e FROM ({src}) s) x"
    )
    row = await cur.fetchone()
    return None if row is None or row[0] is None else tuple(float(v) for v in row)  # type: ignore[return-value]


async def get_surface(conn: psycopg.AsyncConnection, surface_id: int) -> dict[str, object]:
    """A stored surface's row (path, crs, units, params, kind, name); NotFound when absent or
    not visible to the caller."""
    cur = await conn.execute(
        "SELECT id, kind, name, path, crs, units, params FROM surfaces WHERE id = %s", (surface_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no surface {surface_id}")
    return dict(zip(("id", "kind", "name", "path", "crs", "units", "params"), row, strict=True))
