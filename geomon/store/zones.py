"""Zones in PostGIS: import from GeoJSON/GeoPackage, generate border strips and crossing-point
zones, list them, and load them as the engine's :class:`~geomon.alerts.ZoneIndex`.

Buffers are computed on ``geography`` (metres on the spheroid, no CRS choice needed). Zone
polygons are stored as valid MultiPolygons in EPSG:4326. A zone belongs to an agency; one
with ``attrs.shared = true`` applies to every agency's devices.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely
import shapely.geometry

from geomon.alerts import BorderIndex, BorderLine, BorderLines, Zone, ZoneIndex
from geomon.errors import InvalidRequest, NotFound
from geomon.store.devices import ensure_agency

ZONE_KINDS = ("crossing_point", "border_strip", "restricted", "patrol_area")
BCP_KINDS = ("road_bcp", "rail_bcp")

_UPSERT = """
INSERT INTO zones (agency_id, name, kind, geom, attrs)
SELECT %(agency_id)s, %(name)s, %(kind)s,
       ST_Multi(ST_CollectionExtract(ST_MakeValid({geom}), 3)), %(attrs)s
ON CONFLICT (agency_id, name) DO UPDATE SET kind = EXCLUDED.kind, geom = EXCLUDED.geom,
    attrs = EXCLUDED.attrs, active = true
RETURNING id
"""


def _check_kind(kind: str) -> None:
    if kind not in ZONE_KINDS:
        raise InvalidRequest(f"zone kind must be one of {', '.join(ZONE_KINDS)}, not {kind!r}")


def upsert_zone(
    conn: psycopg.Connection,
    *,
    agency: str,
    name: str,
    kind: str,
    geom_wkb: bytes,
    attrs: dict[str, Any] | None = None,
) -> int:
    """Create or replace the zone ``name`` of ``agency`` from an EPSG:4326 WKB polygon."""
    _check_kind(kind)
    agency_id = ensure_agency(conn, agency)
    row = conn.execute(
        _UPSERT.format(geom="ST_SetSRID(ST_GeomFromWKB(%(wkb)s), 4326)"),
        {
            "agency_id": agency_id,
            "name": name,
            "kind": kind,
            "wkb": geom_wkb,
            "attrs": json.dumps(attrs or {}),
        },
    ).fetchone()
    assert row is not None
    return int(row[0])


def read_zone_file(
    path: Path, *, name_field: str = "name", layer: str | None = None
) -> list[tuple[str, Any, dict[str, Any]]]:
    """(name, shapely polygon in EPSG:4326, properties) of every polygon feature of a GeoJSON
    file (read directly; RFC 7946 coordinates are lon/lat) or a GeoPackage / any format GDAL
    reads (through pyogrio, reprojected to EPSG:4326)."""
    if path.suffix.lower() in (".geojson", ".json"):
        feats = json.loads(path.read_text(encoding="utf-8")).get("features", [])
        items = [
            (
                shapely.geometry.shape(f["geometry"]) if f.get("geometry") else None,
                dict(f.get("properties") or {}),
            )
            for f in feats
        ]
    else:
        items = _read_ogr(path, layer)
    out = []
    for i, (g, props) in enumerate(items):
        if g is None or g.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        out.append((str(props.get(name_field) or f"{path.stem}-{i + 1}"), g, props))
    return out


def _read_ogr(path: Path, layer: str | None) -> list[tuple[Any, dict[str, Any]]]:
    try:
        from pyogrio.raw import read
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise InvalidRequest("reading GeoPackage needs pyogrio (pip install pyogrio)") from exc
    from pyproj import CRS, Transformer

    meta, _, wkb, fields = read(path, layer=layer)
    geoms = shapely.from_wkb(wkb)
    crs = meta.get("crs")
    if crs and CRS.from_user_input(crs) != CRS.from_epsg(4326):
        tr = Transformer.from_crs(crs, 4326, always_xy=True)
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(*xy.T)))
    names = list(meta["fields"])
    return [
        (g, {n: _plain(fields[j][i]) for j, n in enumerate(names)}) for i, g in enumerate(geoms)
    ]


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def import_zones(
    conn: psycopg.Connection,
    path: Path,
    *,
    agency: str,
    kind: str | None = None,
    name_field: str = "name",
) -> list[int]:
    """Import polygons as zones; the kind comes from ``kind`` or each feature's ``kind``."""
    ids = []
    for name, geom, props in read_zone_file(path, name_field=name_field):
        k = kind or str(props.get("kind") or "")
        rules = props.get("rules")
        attrs = {
            "source": path.name,
            "properties": {k2: v for k2, v in props.items() if k2 not in ("rules",)},
        }
        if rules:
            attrs["rules"] = json.loads(rules) if isinstance(rules, str) else rules
        ids.append(
            upsert_zone(
                conn, agency=agency, name=name, kind=k, geom_wkb=shapely.to_wkb(geom), attrs=attrs
            )
        )
    return ids


def border_strip(
    conn: psycopg.Connection, border: str, width_km: float, *, agency: str, name: str | None = None
) -> int:
    """A strip ``width_km`` either side of a border line (geography buffer, metres)."""
    if not 0 < width_km <= 200:
        raise InvalidRequest("width_km must be in (0, 200]")
    code = "-".join(sorted(border.upper().split("-")))
    agency_id = ensure_agency(conn, agency)
    row = (
        conn.execute(
            _UPSERT.format(
                geom="(SELECT ST_Buffer(geom::geography, %(m)s)::geometry FROM borders "
                "WHERE code = %(code)s)"
            ),
            {
                "agency_id": agency_id,
                "name": name or f"{code} border strip {width_km:g} km",
                "kind": "border_strip",
                "m": width_km * 1000,
                "code": code,
                "attrs": json.dumps({"border": code, "width_km": width_km}),
            },
        ).fetchone()
        if _border_exists(conn, code)
        else None
    )
    if row is None:
        raise NotFound(f"no border {code!r} in the borders table (load-reference first?)")
    return int(row[0])


def _border_exists(conn: psycopg.Connection, code: str) -> bool:
    return conn.execute("SELECT 1 FROM borders WHERE code = %s", (code,)).fetchone() is not None


def crossing_point_zones(
    conn: psycopg.Connection,
    radius_m: float,
    *,
    agency: str,
    kinds: tuple[str, ...] = BCP_KINDS,
    use_accuracy: bool = False,
    shared: bool = True,
    country: str | None = None,
) -> int:
    """One circular ``crossing_point`` zone per crossing point in ``places`` (only those on a
    border of ``country`` when given); with ``use_accuracy`` the radius grows to the place's
    stated accuracy."""
    if not 0 < radius_m <= 100_000:
        raise InvalidRequest("radius_m must be in (0, 100000]")
    agency_id = ensure_agency(conn, agency)
    rows = conn.execute(
        "INSERT INTO zones (agency_id, name, kind, geom, attrs) "
        "SELECT %(a)s, 'BCP ' || name, 'crossing_point', "
        "ST_Multi(ST_Buffer(geom::geography, CASE WHEN %(acc)s THEN "
        "greatest(%(r)s, coalesce(accuracy_m, 0)) ELSE %(r)s END)::geometry), "
        "jsonb_build_object('place', name, 'countries', countries, 'shared', %(shared)s) "
        "FROM places WHERE kind = ANY(%(kinds)s) "
        "AND (%(country)s::text IS NULL OR %(country)s = ANY(string_to_array(countries, '-'))) "
        "ON CONFLICT (agency_id, name) DO UPDATE SET geom = EXCLUDED.geom, "
        "attrs = EXCLUDED.attrs, active = true RETURNING id",
        {
            "a": agency_id,
            "r": radius_m,
            "acc": use_accuracy,
            "kinds": list(kinds),
            "shared": shared,
            "country": country,
        },
    ).fetchall()
    return len(rows)


def list_zones(conn: psycopg.Connection, agency: str | None = None) -> list[tuple[Any, ...]]:
    """(id, agency code, name, kind, area km², active) rows."""
    return conn.execute(
        "SELECT z.id, a.code, z.name, z.kind, "
        "round((ST_Area(z.geom::geography) / 1e6)::numeric, 2), z.active "
        "FROM zones z JOIN agencies a ON a.id = z.agency_id "
        "WHERE %(a)s::text IS NULL OR a.code = %(a)s ORDER BY z.id",
        {"a": agency},
    ).fetchall()


def assign_zone(conn: psycopg.Connection, zone_id: int, device_uids: list[str]) -> int:
    cur = conn.execute(
        "INSERT INTO zone_assignments (zone_id, device_id) SELECT %s, id FROM devices "
        "WHERE uid = ANY(%s) ON CONFLICT DO NOTHING",
        (zone_id, device_uids),
    )
    return cur.rowcount


ZONES_SQL = """
SELECT z.agency_id, z.id, z.kind, z.name, ST_AsBinary(z.geom), z.attrs
FROM zones z WHERE z.active ORDER BY z.id
"""
# The lines with their two countries' polygons (the sides of the line, docs/events.md).
BORDERS_SQL = """
SELECT b.code, b.a, b.b, ST_AsBinary(b.geom), b.accuracy_m,
       ST_AsBinary(ca.geom), ST_AsBinary(cb.geom)
FROM borders b LEFT JOIN countries ca ON ca.iso_a3 = b.a LEFT JOIN countries cb ON cb.iso_a3 = b.b
ORDER BY b.code
"""


def zone_indexes(rows: list[tuple[Any, ...]]) -> dict[int | None, ZoneIndex]:
    """Per agency: its own zones plus every shared zone (rows of :data:`ZONES_SQL`); under
    ``None`` the shared zones alone, for agencies without zones of their own."""
    zones = [
        (
            r[0],
            Zone(
                int(r[1]),
                r[2],
                shapely.from_wkb(bytes(r[4])),
                r[3],
                (r[5] or {}).get("rules") or {},
            ),
            bool((r[5] or {}).get("shared")),
        )
        for r in rows
    ]
    out: dict[int | None, ZoneIndex] = {
        a: ZoneIndex([z for ag, z, shared in zones if ag == a or shared])
        for a in {a for a, _, _ in zones}
    }
    out[None] = ZoneIndex([z for _, z, shared in zones if shared])
    return out


def border_lines(border_rows: list[tuple[Any, ...]]) -> BorderLines:
    """The border lines (rows of :data:`BORDERS_SQL`), shared by every agency's index."""

    def geom(wkb: Any) -> Any:
        return None if wkb is None else shapely.from_wkb(bytes(wkb))

    return BorderLines(
        [
            BorderLine(r[0], r[1], r[2], geom(r[3]), geom(r[5]), geom(r[6]), r[4])
            for r in border_rows
        ]
    )


def border_index(lines: BorderLines, zones: ZoneIndex | None, home: str | None) -> BorderIndex:
    """Border lines seen from an agency of ``home`` (ISO3 or None) with the crossing-point
    zones of ``zones`` as the allowed places."""
    allowed = [z.geom for z in (zones.zones if zones else []) if z.kind == "crossing_point"]
    return BorderIndex(lines, allowed, home)


def borders_of(conn: psycopg.Connection, country: str) -> list[str]:
    """Codes of the border lines of ``country`` (ISO 3166-1 alpha-3)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT code FROM borders WHERE a = %s OR b = %s ORDER BY code", (country, country)
        )
    ]
