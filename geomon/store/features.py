"""Feature collections for OGC API – Features: one SQL source per collection, keyset pages.

Every collection is a subquery yielding ``geom`` (EPSG:4326), ``t0``/``t1`` (its temporal
extent, NULL when the collection has none), its key columns and its properties. Pages are
ordered by the key (the primary key, or (device_id, day) for tracks) and continue with
``WHERE key > last`` (``<`` going back), never with OFFSET. Row visibility per agency is
PostgreSQL's row-level security on the caller's connection, not a filter here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import psycopg
from psycopg import sql

from geomon.errors import InvalidRequest, NotFound
from geomon.store import forecast_layers

# Tracks: the device-days (track_days, migration 0030) are filtered by day, bbox and page key
# through their indexes and ordered by the page key first (a subquery with ORDER BY is not
# flattened, so the lines are built in key order and LIMIT stops building them); each line
# from the positions primary key. The (device_id, fix_time) row bounds are the only index
# conditions the planner can pick the primary key for under RLS (plain columns; timezone()
# is not leakproof, and "device_id = … AND fix_time >= …" chose the fix_time index and
# filtered a month of fixes per line). {prefilter}/{order}: see _source.
_TRACKS = (
    "SELECT td.device_id, td.day, l.geom, l.t0, l.t1, l.n_fixes, l.t0 first_fix, "
    "l.t1 last_fix FROM (SELECT td.device_id, td.day, td.t_lo, td.t_hi FROM track_days td "
    "WHERE {prefilter} ORDER BY td.device_id {order}, td.day {order}) td CROSS JOIN LATERAL ("
    "SELECT ST_MakeLine(p.geom ORDER BY p.fix_time) geom, min(p.fix_time) t0, "
    "max(p.fix_time) t1, count(*) n_fixes FROM positions p WHERE p.valid "
    "AND (p.device_id, p.fix_time) >= (td.device_id, td.t_lo) "
    "AND (p.device_id, p.fix_time) < (td.device_id, td.t_hi)) l "
    "WHERE l.n_fixes > 0"
)


@dataclass(frozen=True)
class CollectionSpec:
    """How one collection is read: its SQL source, key and properties."""

    id: str
    title: str
    description: str
    source: str  # a SELECT yielding geom, t0, t1, the key columns and the properties
    key: tuple[str, ...] = ("id",)
    key_types: tuple[str, ...] = ("bigint",)
    props: tuple[str, ...] = ()
    geometry: str = "Point"
    temporal: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    tables: tuple[str, ...] = ()  # what the source reads: their layer_versions key page caches

    def feature_id(self, key: tuple[Any, ...]) -> str | int:
        return key[0] if len(key) == 1 else "_".join(str(k) for k in key)

    def parse_feature_id(self, fid: str) -> tuple[Any, ...]:
        parts = fid.split("_") if len(self.key) > 1 else [fid]
        if len(parts) != len(self.key):
            raise NotFound(f"no feature {fid!r} in collection {self.id!r}")
        try:
            return tuple(_convert(p, t) for p, t in zip(parts, self.key_types, strict=True))
        except ValueError:
            raise NotFound(f"no feature {fid!r} in collection {self.id!r}") from None


def convert_key(spec: CollectionSpec, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Key values (strings from a cursor) typed for the spec; InvalidRequest when malformed."""
    try:
        return tuple(_convert(v, t) for v, t in zip(values, spec.key_types, strict=True))
    except ValueError:
        raise InvalidRequest("cursor is not one this server issued for this collection") from None


def _convert(value: Any, sqltype: str) -> Any:
    if sqltype in ("bigint", "int"):
        return int(value)
    if sqltype == "date":
        return (
            datetime.strptime(str(value), "%Y%m%d").date()
            if "-" not in str(value)
            else datetime.strptime(str(value), "%Y-%m-%d").date()
        )
    return value


STATIC: dict[str, CollectionSpec] = {
    c.id: c
    for c in (
        CollectionSpec(
            "places",
            "Places",
            "Border crossing points, dry ports and offices.",
            "SELECT id, geom, NULL::timestamptz t0, NULL::timestamptz t1, name, kind, countries, "
            "accuracy_m, source FROM places",
            props=("name", "kind", "countries", "accuracy_m", "source"),
            key_types=("int",),
            temporal=False,
            tables=("places",),
        ),
        CollectionSpec(
            "borders",
            "Borders",
            "State borders as lines (Natural Earth 1:10m).",
            "SELECT id, geom, NULL::timestamptz t0, NULL::timestamptz t1, code, a, b, source "
            "FROM borders",
            props=("code", "a", "b", "source"),
            geometry="MultiLineString",
            key_types=("int",),
            temporal=False,
            tables=("borders",),
        ),
        CollectionSpec(
            "zones",
            "Zones",
            "Geofences and patrol areas (valid from their creation).",
            "SELECT z.id, z.geom, z.created_at t0, NULL::timestamptz t1, z.name, z.kind, z.active, "
            "a.code agency FROM zones z JOIN agencies a ON a.id = z.agency_id",
            props=("name", "kind", "active", "agency"),
            geometry="MultiPolygon",
            key_types=("int",),
            tables=("zones", "agencies"),
        ),
        CollectionSpec(
            "incidents",
            "Incidents",
            "Seizures, detentions and detections.",
            "SELECT i.id, i.geom, i.occurred_at t0, i.occurred_at t1, i.category, i.quantity, "
            "i.unit, i.occurred_at, i.source, a.code agency FROM incidents i "
            "JOIN agencies a ON a.id = i.agency_id",
            props=("category", "quantity", "unit", "occurred_at", "source", "agency"),
            tables=("incidents", "agencies"),
        ),
        CollectionSpec(
            "cases",
            "Cases",
            "Seizure cases (live, not deleted): category, substance, quantity in kg or as a "
            "count, concealment, transport, route.",
            "SELECT c.id, c.geom, c.occurred_at t0, c.occurred_at t1, c.source, c.external_id, "
            "c.category, c.substance, c.quantity_kg, c.quantity_count, c.unit, c.occurred_at, "
            "c.concealment, c.transport_mode, c.origin_country, c.destination_country, "
            "c.seizing_unit, a.code agency FROM cases c JOIN agencies a ON a.id = c.agency_id "
            "WHERE c.deleted_at IS NULL",
            props=(
                "source",
                "external_id",
                "category",
                "substance",
                "quantity_kg",
                "quantity_count",
                "unit",
                "occurred_at",
                "concealment",
                "transport_mode",
                "origin_country",
                "destination_country",
                "seizing_unit",
                "agency",
            ),
            tables=(),  # no change counter on cases yet: pages are never cached
        ),
        CollectionSpec(
            "positions-latest",
            "Latest positions",
            "Each device's newest fix by fix_time.",
            "SELECT l.device_id, l.geom, l.fix_time t0, l.fix_time t1, d.uid, d.name, d.kind, "
            "a.code agency, l.fix_time, l.speed_mps, l.course_deg, l.altitude_m, l.valid "
            "FROM device_latest l JOIN devices d ON d.id = l.device_id "
            "JOIN agencies a ON a.id = d.agency_id",
            key=("device_id",),
            key_types=("int",),
            props=(
                "uid",
                "name",
                "kind",
                "agency",
                "fix_time",
                "speed_mps",
                "course_deg",
                "altitude_m",
                "valid",
            ),
            tables=("device_latest", "devices", "agencies"),
        ),
        CollectionSpec(
            "tracks",
            "Tracks",
            "One line per device and UTC day, through its valid fixes in time "
            "order (feature id DEVICE_YYYY-MM-DD).",
            _TRACKS,
            key=("device_id", "day"),
            key_types=("int", "date"),
            props=("device_id", "day", "n_fixes", "first_fix", "last_fix"),
            geometry="LineString",
            tables=("positions",),
        ),
        CollectionSpec(
            "observations",
            "Observations",
            "BCP and sensor feeds (plate reads, alarms, counts…).",
            "SELECT o.id, o.geom, o.observed_at t0, o.observed_at t1, d.uid sensor, o.kind, "
            "o.value, o.text, o.observed_at FROM observations o "
            "JOIN devices d ON d.id = o.sensor_id "
            "WHERE o.geom IS NOT NULL",
            props=("sensor", "kind", "value", "text", "observed_at"),
            tables=("observations", "devices"),
        ),
        CollectionSpec(
            "events",
            "Events",
            "Geofence, silence, alarm and overspeed events with their state.",
            "SELECT e.id, e.geom, e.occurred_at t0, e.occurred_at t1, e.kind, e.severity, e.state, "
            "e.device_id, e.zone_id, e.occurred_at, a.code agency FROM events e "
            "JOIN agencies a ON a.id = e.agency_id WHERE e.geom IS NOT NULL",
            props=("kind", "severity", "state", "device_id", "zone_id", "occurred_at", "agency"),
            tables=("events", "agencies"),
        ),
        CollectionSpec(
            "corridors",
            "Corridors",
            "Every stored corridor polygon (all sets).",
            "SELECT c.id, c.geom, c.created_at t0, c.created_at t1, c.surface_id, c.rank, "
            "c.threshold, c.n_cells, c.total_cost FROM corridors c WHERE c.geom IS NOT NULL",
            props=("surface_id", "rank", "threshold", "n_cells", "total_cost"),
            geometry="MultiPolygon",
            key_types=("int",),
            tables=("corridors",),
        ),
    )
}

_HOTSPOT_SOURCE = (
    "SELECT c.cell_id, c.geom, r.created_at t0, r.created_at t1, c.value, c.z, c.p, c.gi_bin, "
    "c.gi_bin_fdr, c.p_sim, c.trend_z, c.trend_p, c.category FROM hotspot_cells c "
    "JOIN hotspot_runs r ON r.id = c.run_id WHERE c.run_id = {run}"
)
_CORRIDOR_SET_SOURCE = (
    "SELECT c.id, c.geom, c.created_at t0, c.created_at t1, c.surface_id, c.rank, c.threshold, "
    "c.n_cells, c.total_cost FROM corridors c WHERE c.geom IS NOT NULL AND c.surface_id = {sid}"
)


_HOTSPOT_TABLES = ("hotspot_cells", "hotspot_runs")


def collection_tables(cid: str) -> tuple[str, ...]:
    """The tables behind collection ``cid`` without asking the database (whether a run or a
    corridor set exists and is visible is :func:`get_collection`'s question)."""
    if cid in STATIC:
        return STATIC[cid].tables
    prefix, _, num = cid.partition("-")
    if not num.isdigit():
        return ()
    return {
        "hotspots": _HOTSPOT_TABLES,
        "corridors": ("corridors",),
        forecast_layers.PREFIX: forecast_layers.TABLES,
    }.get(prefix, ())


def hotspot_spec(run_id: int, kind: str = "", created: datetime | None = None) -> CollectionSpec:
    when = f" of {created:%Y-%m-%d %H:%M} UTC" if created else ""
    return CollectionSpec(
        f"hotspots-{run_id}",
        f"Hotspot run {run_id} ({kind})".replace(" ()", ""),
        f"Cells of hotspot run {run_id}{when}: value, Gi* z and p, bins (plain and FDR), "
        "pseudo p, trend and emerging-hotspot category.",
        _HOTSPOT_SOURCE.format(run=int(run_id)),
        key=("cell_id",),
        key_types=("int",),
        props=(
            "value",
            "z",
            "p",
            "gi_bin",
            "gi_bin_fdr",
            "p_sim",
            "trend_z",
            "trend_p",
            "category",
        ),
        geometry="Polygon",
        tables=_HOTSPOT_TABLES,
    )


def corridor_set_spec(surface_id: int) -> CollectionSpec:
    return CollectionSpec(
        f"corridors-{surface_id}",
        f"Corridors on surface {surface_id}",
        f"Corridor polygons computed on surface {surface_id}, by rank.",
        _CORRIDOR_SET_SOURCE.format(sid=int(surface_id)),
        key_types=("int",),
        props=("surface_id", "rank", "threshold", "n_cells", "total_cost"),
        geometry="MultiPolygon",
        tables=("corridors",),
    )


def forecast_spec(run_id: int, units: str = "") -> CollectionSpec:
    fl = forecast_layers
    return CollectionSpec(
        f"{fl.PREFIX}-{run_id}",
        fl.title(run_id, units),
        fl.description(run_id),
        fl.COLLECTION_SOURCE.format(run=int(run_id)),
        key=("loc_id",),
        key_types=("int",),
        props=fl.PROPS,
        geometry=fl.GEOMETRY.get(units, fl.DEFAULT_GEOMETRY),
        tables=fl.TABLES,
    )


async def dynamic_collections(conn: psycopg.AsyncConnection) -> list[CollectionSpec]:
    """One collection per visible hotspot run, finished forecast run and corridor set."""
    cur = await conn.execute("SELECT id, kind, created_at FROM hotspot_runs ORDER BY id")
    specs = [hotspot_spec(i, k, c) for i, k, c in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT id, params->>'units' FROM forecast_runs WHERE status = 'done' ORDER BY id"
    )
    specs += [forecast_spec(i, u or "") for i, u in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT DISTINCT surface_id FROM corridors WHERE surface_id IS NOT NULL ORDER BY 1"
    )
    specs += [corridor_set_spec(s) for (s,) in await cur.fetchall()]
    return specs


async def get_collection(conn: psycopg.AsyncConnection, cid: str) -> CollectionSpec:
    """The spec of collection ``cid`` (NotFound when it does not exist or is not visible)."""
    if cid in STATIC:
        return STATIC[cid]
    prefix, _, num = cid.partition("-")
    fid = forecast_layers.run_id_of(cid)
    if fid is not None:
        cur = await conn.execute("SELECT params->>'units' FROM forecast_runs WHERE id = %s", (fid,))
        row = await cur.fetchone()
        if row:
            return forecast_spec(fid, row[0] or "")
    if num.isdigit() and prefix in ("hotspots", "corridors"):
        table, col = ("hotspot_runs", "id") if prefix == "hotspots" else ("corridors", "surface_id")
        cur = await conn.execute(
            sql.SQL("SELECT 1 FROM {} WHERE {} = %s LIMIT 1").format(
                sql.Identifier(table), sql.Identifier(col)
            ),
            (int(num),),
        )
        if await cur.fetchone():
            return hotspot_spec(int(num)) if prefix == "hotspots" else corridor_set_spec(int(num))
    raise NotFound(f"no collection {cid!r}")


@dataclass(frozen=True)
class ItemQuery:
    """A validated items request: bboxes (one, or two across the antimeridian), time, page."""

    bboxes: tuple[tuple[float, float, float, float], ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 10
    after: tuple[Any, ...] | None = None
    before: tuple[Any, ...] | None = None
    # equality filters on queryable properties (name, value), names checked by the caller
    props: tuple[tuple[str, str], ...] = ()


@dataclass
class Page:
    features: list[str]  # serialised GeoJSON Feature objects
    first_key: tuple[Any, ...] | None
    last_key: tuple[Any, ...] | None
    has_more: bool
    matched: int | None


def _where(spec: CollectionSpec, q: ItemQuery, params: dict[str, Any]) -> list[str]:
    conds: list[str] = []
    if q.bboxes:
        boxes = []
        for i, b in enumerate(q.bboxes):
            params.update({f"x0{i}": b[0], f"y0{i}": b[1], f"x1{i}": b[2], f"y1{i}": b[3]})
            env = f"ST_MakeEnvelope(%(x0{i})s, %(y0{i})s, %(x1{i})s, %(y1{i})s, 4326)"
            # the bare && first: ST_Intersects' own index clause is not used under row-level
            # security, a LEAKPROOF && can be (docs/security.md, "Spatial filters under RLS")
            boxes.append(f"(s.geom && {env} AND ST_Intersects(s.geom, {env}))")
        conds.append("(" + " OR ".join(boxes) + ")")
    if spec.temporal and q.start is not None:
        params["t_start"] = q.start
        conds.append("s.t1 >= %(t_start)s")
    if spec.temporal and q.end is not None:
        params["t_end"] = q.end
        conds.append("s.t0 <= %(t_end)s")
    for i, (name, value) in enumerate(q.props):
        if name not in spec.props:
            raise InvalidRequest(f"{name!r} is not a property of collection {spec.id!r}")
        params[f"qp{i}"] = value
        conds.append(f"s.{name}::text = %(qp{i})s")
    return conds


def _keyset(spec: CollectionSpec, values: tuple[Any, ...], op: str, params: dict[str, Any]) -> str:
    cols = ", ".join(f"s.{k}" for k in spec.key)
    ph = []
    for i, (v, t) in enumerate(zip(values, spec.key_types, strict=True)):
        params[f"k{i}"] = _convert(v, t)
        ph.append(f"%(k{i})s::{t}")
    return f"({cols}) {op} ({', '.join(ph)})"


def _source(spec: CollectionSpec, q: ItemQuery, params: dict[str, Any]) -> str:
    """The spec's SQL; tracks get their day, bbox and key window on ``track_days``."""
    if "{prefilter}" not in spec.source:
        return spec.source
    pre = ["TRUE"]
    if q.start is not None:
        params["p_start"] = q.start
        pre.append("td.day >= (%(p_start)s::timestamptz AT TIME ZONE 'UTC')::date")
    if q.end is not None:
        params["p_end"] = q.end
        pre.append("td.day <= (%(p_end)s::timestamptz AT TIME ZONE 'UTC')::date")
    if q.bboxes:
        boxes = []
        for i, b in enumerate(q.bboxes):
            params.update({f"x0{i}": b[0], f"y0{i}": b[1], f"x1{i}": b[2], f"y1{i}": b[3]})
            boxes.append(
                f"td.extent && ST_MakeEnvelope(%(x0{i})s, %(y0{i})s, %(x1{i})s, %(y1{i})s, 4326)"
            )
        pre.append("(" + " OR ".join(boxes) + ")")
    if q.after is not None:
        params["p_dev"] = int(q.after[0])
        pre.append("td.device_id >= %(p_dev)s")
    if q.before is not None:
        params["p_dev_b"] = int(q.before[0])
        pre.append("td.device_id <= %(p_dev_b)s")
    order = "DESC" if q.before is not None else "ASC"
    return spec.source.replace("{prefilter}", " AND ".join(pre)).replace("{order}", order)


def _feature_sql(spec: CollectionSpec) -> str:
    props = ", ".join(f"'{p}', s.{p}" for p in spec.props) or ""
    fid = (
        f"s.{spec.key[0]}"
        if len(spec.key) == 1
        else "concat_ws('_', " + ", ".join(f"s.{k}" for k in spec.key) + ")"
    )
    return (
        f"json_build_object('type', 'Feature', 'id', {fid}, 'geometry', "
        f"ST_AsGeoJSON(s.geom, 7)::json, 'properties', json_build_object({props}))::text"
    )


def _page_sql(
    spec: CollectionSpec, q: ItemQuery, params: dict[str, Any], page_conds: list[str]
) -> str:
    keys = ", ".join(f"s.{k}" for k in spec.key)
    order = ", ".join(f"s.{k} {'DESC' if q.before is not None else 'ASC'}" for k in spec.key)
    src = _source(spec, q, params)
    return (
        f"SELECT {keys}, {_feature_sql(spec)} FROM ({src}) s "
        f"WHERE {' AND '.join(page_conds) or 'TRUE'} ORDER BY {order} LIMIT %(lim)s"
    )


def items_sql(spec: CollectionSpec, q: ItemQuery) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters of one page (what read_items runs; for EXPLAIN in bench/)."""
    params: dict[str, Any] = {"lim": q.limit + 1}
    page_conds = _where(spec, q, params)
    if q.after is not None:
        page_conds.append(_keyset(spec, q.after, ">", params))
    if q.before is not None:
        page_conds.append(_keyset(spec, q.before, "<", params))
    return _page_sql(spec, q, params, page_conds), params


async def read_items(
    conn: psycopg.AsyncConnection, spec: CollectionSpec, q: ItemQuery, *, count: bool = True
) -> Page:
    """One page of features (keyset on the key), plus numberMatched when ``count``."""
    params: dict[str, Any] = {"lim": q.limit + 1}
    conds = _where(spec, q, params)
    filt = " AND ".join(conds) or "TRUE"
    page_conds = list(conds)
    backwards = q.before is not None
    if q.after is not None:
        page_conds.append(_keyset(spec, q.after, ">", params))
    if q.before is not None:
        page_conds.append(_keyset(spec, q.before, "<", params))
    query = _page_sql(spec, q, params, page_conds)
    ccur = None
    if "{prefilter}" in spec.source:
        # tracks: the per-line estimates put a page over jit_above_cost, and compiling costs
        # more than running the page (docs/performance.md)
        await conn.execute("SET LOCAL jit = off")
    async with conn.pipeline():  # the page and its count in one round trip
        cur = await conn.execute(query, params)
        if count:
            cparams = {k: v for k, v in params.items() if k not in ("p_dev", "p_dev_b")}
            csrc = _source(spec, ItemQuery(q.bboxes, q.start, q.end, props=q.props), cparams)
            ccur = await conn.execute(
                f"SELECT count(*) FROM ({csrc}) s WHERE {filt}",
                cparams,
            )
    rows = await cur.fetchall()
    has_more = len(rows) > q.limit
    rows = rows[: q.limit]
    if backwards:
        rows.reverse()
    n = len(spec.key)
    matched = None if ccur is None else int((await ccur.fetchone())[0])  # type: ignore[index]
    return Page(
        [r[n] for r in rows],
        tuple(rows[0][:n]) if rows else None,
        tuple(rows[-1][:n]) if rows else None,
        has_more,
        matched,
    )


async def read_feature(
    conn: psycopg.AsyncConnection, spec: CollectionSpec, key: tuple[Any, ...]
) -> str:
    """One feature as GeoJSON text; NotFound when absent or invisible to the caller."""
    params: dict[str, Any] = {}
    cond = _keyset(spec, key, "=", params)
    q = ItemQuery(after=key) if "{prefilter}" in spec.source else ItemQuery()
    src = _source(spec, q, params)
    cur = await conn.execute(f"SELECT {_feature_sql(spec)} FROM ({src}) s WHERE {cond}", params)
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no feature {spec.feature_id(key)!r} in collection {spec.id!r}")
    return str(row[0])


async def extent(conn: psycopg.AsyncConnection, spec: CollectionSpec) -> dict[str, Any]:
    """Spatial bbox and temporal interval of a collection (tracks: the union of the device-day
    envelopes, not a scan of every fix; the times from the fix_time index)."""
    if spec.id == "tracks":
        cur = await conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), "
            "(SELECT min(fix_time) FROM positions), (SELECT max(fix_time) FROM positions) "
            "FROM (SELECT ST_Extent(extent)::geometry e FROM track_days) x"
        )
    else:
        cur = await conn.execute(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), t0, t1 FROM "
            f"(SELECT ST_Extent(geom)::geometry e, min(t0) t0, max(t1) t1 "
            f"FROM ({spec.source}) s) x"
        )
    x0, y0, x1, y1, t0, t1 = await cur.fetchone()  # type: ignore[misc]
    out: dict[str, Any] = {
        "spatial": {
            "bbox": [[x0, y0, x1, y1]] if x0 is not None else [[-180.0, -90.0, 180.0, 90.0]],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        }
    }
    if spec.temporal:
        out["temporal"] = {
            "interval": [[_iso(t0), _iso(t1)]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return out


def _iso(t: datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t is not None else None


def loads_feature(text: str) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(text))


def check_limit(limit: int, maximum: int) -> int:
    if limit < 1:
        raise InvalidRequest(f"limit must be at least 1, got {limit}")
    return min(limit, maximum)
