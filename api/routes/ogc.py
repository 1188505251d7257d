"""OGC API – Features Part 1 (Core, GeoJSON, HTML) under ``/ogc``.

Thin routes: parse and validate parameters (400 with a message, as the standard wants),
call :mod:`geomon.store.features`, and write GeoJSON or HTML by content negotiation
(``f=json|html`` first, then the Accept header). Items also come as files written by GDAL
(``f=csv|gpkg|kml|fgb``, :mod:`api.ogc.downloads`); ``/queryables`` lists the properties
that filter by equality (``?category=drug_seizure``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import psycopg
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.auth import current_principal
from api.common import AUTH_RESPONSES
from api.deps import CollectionId, PageConn, ReadConn, Visibility
from api.errors import error_route
from api.i18n import request_locale
from api.ogc import downloads, pages
from api.ogc.page_cache import cached_page, page_key
from api.ogc.params import (
    DEFAULT_LIMIT,
    ITEM_PARAMS,
    MAX_LIMIT,
    check_unknown,
    decode_cursor,
    encode_cursor,
    parse_bbox,
    parse_datetime,
    parse_limit,
)
from api.state import app_state
from geomon.errors import InvalidRequest
from geomon.exchange.ogr import FORMATS
from geomon.store import feature_export
from geomon.store import features as store
from tiles.cache import TileCache

CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
CONFORMS_TO = [CONF + "core", CONF + "geojson", CONF + "html"]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
SCHEMA_JSON = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    400: {"description": "A query parameter is invalid or unknown; the body says which."},
    404: {"description": "No such collection or feature (or not visible to the caller)."},
    406: {"description": "The requested format is not offered."},
}

router = APIRouter(
    prefix="/ogc",
    tags=["OGC API - Features"],
    responses=RESPONSES,
    dependencies=[Depends(current_principal)],  # landing and conformance have no connection
    # OGC API - Features answers a malformed or unknown parameter with 400, not 422
    route_class=error_route({InvalidRequest: 400}, validation_status=400),
)
FQuery = Annotated[
    str | None,
    Query(description="Output format: json (default) or html; overrides the Accept header."),
]
ItemsFQuery = Annotated[
    str | None,
    Query(
        description="Output format: json (default, GeoJSON), html, or a file written by GDAL: "
        "csv, gpkg (GeoPackage), kml or fgb (FlatGeobuf); overrides the Accept header."
    ),
]


def _fmt(request: Request, f: str | None) -> str:
    if f is not None:
        if f not in ("json", "html"):
            raise InvalidRequest(f"f must be json or html, not {f!r}")
        return f
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "json" not in accept.split("text/html")[0]:
        return "html"
    return "json"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _link(href: str, rel: str, type_: str, title: str = "") -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def _self_links(url: str, fmt: str, json_type: str = "application/json") -> list[dict[str, str]]:
    sep = "&" if "?" in url else "?"
    kinds = [("json", json_type, "This document as JSON"), ("html", "text/html", "as HTML")]
    return [
        _link(f"{url}{sep}f={k}", "self" if k == fmt else "alternate", t, title)
        for k, t, title in kinds
    ]


def _respond(
    doc: dict[str, Any],
    fmt: str,
    title: str,
    media: str = "application/json",
    text: str | None = None,
) -> Response:
    if fmt == "html":
        body = doc if text is None else json.loads(text)
        return HTMLResponse(pages.page(title, body, request_locale()))
    if text is not None:
        return Response(text, media_type=media)
    return JSONResponse(doc, media_type=media)


@router.get(
    "",
    summary="Landing page",
    description="Links to the API definition, the conformance declaration and the collections.",
)
async def landing(request: Request, f: FQuery = None) -> Response:
    fmt, base = _fmt(request, f), _base(request)
    root = str(request.base_url).rstrip("/")
    doc = {
        "title": "geomon OGC API - Features",
        "description": "Border-monitoring layers: places, borders, zones, incidents, teams, "
        "tracks, observations, events, hotspot runs and corridors.",
        "links": _self_links(base, fmt)
        + [
            _link(
                f"{root}/openapi.json",
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.1",
                "API definition (OpenAPI 3.1)",
            ),
            _link(f"{root}/docs", "service-doc", "text/html", "API documentation"),
            _link(f"{base}/conformance", "conformance", "application/json", "Conformance classes"),
            _link(f"{base}/collections", "data", "application/json", "Collections"),
        ],
    }
    return _respond(doc, fmt, "geomon OGC API - Features")


@router.get(
    "/conformance",
    summary="Conformance declaration",
    description="The OGC requirement classes this API implements.",
)
async def conformance(request: Request, f: FQuery = None) -> Response:
    fmt = _fmt(request, f)
    doc = {"conformsTo": CONFORMS_TO, "links": _self_links(f"{_base(request)}/conformance", fmt)}
    return _respond(doc, fmt, "Conformance")


async def _collection_doc(
    conn: psycopg.AsyncConnection, spec: store.CollectionSpec, base: str
) -> dict[str, Any]:
    url = f"{base}/collections/{spec.id}"
    return {
        "id": spec.id,
        "title": spec.title,
        "description": spec.description,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": await store.extent(conn, spec),
        "links": [
            _link(url, "self", "application/json", "This collection"),
            _link(f"{url}?f=html", "alternate", "text/html", "as HTML"),
            _link(f"{url}/items", "items", GEOJSON, "Items as GeoJSON"),
            _link(f"{url}/items?f=html", "items", "text/html", "Items as HTML"),
        ]
        + [
            _link(f"{url}/items?f={k}", "items", v.media_type, f"Items as {v.title}")
            for k, v in FORMATS.items()
        ]
        + [_link(f"{url}/queryables", QUERYABLES_REL, SCHEMA_JSON, "Queryables")],
    }


@router.get(
    "/collections",
    summary="Feature collections",
    description="Every collection the caller may see, with spatial/temporal extents.",
)
async def collections(request: Request, conn: ReadConn, f: FQuery = None) -> Response:
    fmt, base = _fmt(request, f), _base(request)
    specs = list(store.STATIC.values()) + await store.dynamic_collections(conn)
    doc = {
        "links": _self_links(f"{base}/collections", fmt),
        "collections": [await _collection_doc(conn, s, base) for s in specs],
    }
    return _respond(doc, fmt, "Collections")


@router.get("/collections/{collectionId}", summary="One collection's metadata")
async def collection(
    request: Request,
    conn: ReadConn,
    collectionId: CollectionId,
    f: FQuery = None,
) -> Response:
    fmt = _fmt(request, f)
    spec = await store.get_collection(conn, collectionId)
    doc = await _collection_doc(conn, spec, _base(request))
    doc["links"] = _self_links(f"{_base(request)}/collections/{spec.id}", fmt) + doc["links"][2:]
    return _respond(doc, fmt, spec.title)


def _audit_if_cases(request: Request, spec: store.CollectionSpec) -> None:
    """Reads of cases are audited as tracks are (api/middleware.py writes the row)."""
    if spec.id == "cases":
        request.state.audit = True


async def _item_query(
    request: Request,
    conn: psycopg.AsyncConnection,
    spec: store.CollectionSpec,
    limit: int | None,
    bbox: str | None,
    dt: str | None,
    cursor: str | None,
) -> store.ItemQuery:
    props: tuple[tuple[str, str], ...] = ()
    extra = sorted(set(request.query_params) - ITEM_PARAMS)
    if extra:  # property filters: only then is the collection's shape needed
        allowed = await feature_export.queryables(conn, spec)
        check_unknown(request.query_params, ITEM_PARAMS | set(allowed))
        props = tuple((k, request.query_params[k]) for k in extra)
    start, end = parse_datetime(dt)
    decoded = decode_cursor(cursor, len(spec.key))
    key = store.convert_key(spec, decoded[1]) if decoded else None
    return store.ItemQuery(
        parse_bbox(bbox),
        start,
        end,
        parse_limit(limit),
        after=key if decoded and decoded[0] == "next" else None,
        before=key if decoded and decoded[0] == "prev" else None,
        props=props,
    )


def _page_links(
    request: Request, spec: store.CollectionSpec, fmt: str, page: store.Page, q: store.ItemQuery
) -> list[dict[str, str]]:
    url = f"{_base(request)}/collections/{spec.id}/items"
    keep = {k: v for k, v in request.query_params.items() if k not in ("cursor", "f")}
    self_url = url + ("?" + urlencode(keep) if keep else "")
    links = _self_links(self_url, fmt, GEOJSON)
    links.append(
        _link(
            f"{_base(request)}/collections/{spec.id}", "collection", "application/json", spec.title
        )
    )
    more_after = page.has_more if q.before is None else True
    more_before = (q.after is not None) or (q.before is not None and page.has_more)
    media = GEOJSON if fmt == "json" else "text/html"
    for rel, key, more in (
        ("next", page.last_key, more_after),
        ("prev", page.first_key, more_before),
    ):
        if more and key is not None:
            params = {**keep, "cursor": encode_cursor(rel, key), "f": fmt}
            links.append(
                _link(
                    f"{url}?{urlencode(params)}",
                    rel,
                    media,
                    "Next page" if rel == "next" else "Previous page",
                )
            )
    return links


@router.get(
    "/collections/{collectionId}/items",
    summary="Features of a collection",
    description="GeoJSON FeatureCollection, paged with opaque keyset cursors: follow the "
    "`next`/`prev` links. Properties listed by `/queryables` filter by equality "
    "(`?category=drug_seizure`); other unknown parameters are rejected with 400. With "
    "`f=csv|gpkg|kml|fgb` the answer is one file written by GDAL with every matching feature "
    "(at most `limit` when it is given), the same filters and visibility.",
    responses={
        200: {
            "content": {
                GEOJSON: {},
                "text/html": {},
                **{v.media_type: {} for v in FORMATS.values()},
            },
            "description": "A page of features, or a file of them.",
        }
    },
)
async def items(
    request: Request,
    conn_version: PageConn,
    visibility: Visibility,
    collectionId: CollectionId,
    f: ItemsFQuery = None,
    limit: Annotated[
        int,
        Query(
            ge=1,
            description=f"Features per page: default {DEFAULT_LIMIT}, at least 1; values above "
            f"{MAX_LIMIT:,} are clamped to {MAX_LIMIT:,}. Files (f=csv|gpkg|kml|fgb) hold "
            "every matching feature unless a limit is given.",
            json_schema_extra={"maximum": MAX_LIMIT},
        ),
    ] = DEFAULT_LIMIT,
    bbox: Annotated[
        str | None,
        Query(
            description="minLon,minLat,maxLon,maxLat in CRS84 (or 6 "
            "numbers with heights); minLon > maxLon crosses the "
            "antimeridian.",
            examples=["66,36,81,46"],
        ),
    ] = None,
    datetime_: Annotated[
        str | None,
        Query(
            alias="datetime",
            description="RFC 3339 instant or interval START/END; '..' or empty for an open end.",
            examples=["2026-11-01T00:00:00Z/.."],
        ),
    ] = None,
    cursor: Annotated[
        str | None, Query(description="Opaque page cursor from a next/prev link.")
    ] = None,
) -> Response:
    conn, version = conn_version
    file_fmt = downloads.wanted(f, request.headers.get("accept", ""))
    fmt = "json" if file_fmt else _fmt(request, f)
    spec = await store.get_collection(conn, collectionId)
    _audit_if_cases(request, spec)
    q = await _item_query(request, conn, spec, limit, bbox, datetime_, cursor)
    if file_fmt:
        given = "limit" in request.query_params
        return await downloads.download(conn, spec, q, file_fmt, q.limit if given else None)
    page = await cached_page(request, conn, spec, q, page_key(spec, q, visibility, version))
    head: dict[str, Any] = {
        "type": "FeatureCollection",
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "numberReturned": len(page.features),
        "links": _page_links(request, spec, fmt, page, q),
    }
    if page.matched is not None:
        head["numberMatched"] = page.matched
    text = json.dumps(head)[:-1] + ', "features": [' + ",".join(page.features) + "]}"
    return _respond(head, fmt, f"{spec.title}: items", GEOJSON, text)


@router.get(
    "/collections/{collectionId}/queryables",
    summary="Queryable properties (JSON Schema)",
    description="The properties of a collection's items that filter by equality as query "
    "parameters of `/items` (`?name=value`), with the geometry and, when the collection has "
    "one, the instant `datetime` filters on.",
    responses={200: {"content": {SCHEMA_JSON: {}, "text/html": {}}, "description": "Schema."}},
)
async def queryables(
    request: Request,
    conn: ReadConn,
    collectionId: CollectionId,
    f: FQuery = None,
) -> Response:
    fmt = _fmt(request, f)
    spec = await store.get_collection(conn, collectionId)
    url = f"{_base(request)}/collections/{spec.id}/queryables"
    geometry = "geometry-" + spec.geometry.lower()
    properties: dict[str, Any] = {
        "geometry": {"format": geometry, "x-ogc-role": "primary-geometry"},
    }
    if spec.temporal:
        properties["datetime"] = {
            "type": "string",
            "format": "date-time",
            "x-ogc-role": "primary-instant",
            "description": "Filtered with the datetime parameter (instant or interval).",
        }
    for name, type_ in (await feature_export.queryables(conn, spec)).items():
        properties[name] = {"title": name, "type": type_}
    doc = {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url,
        "type": "object",
        "title": spec.title,
        "properties": properties,
        "additionalProperties": False,
    }
    return _respond(doc, fmt, f"{spec.title}: queryables", SCHEMA_JSON)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature",
    responses={200: {"content": {GEOJSON: {}, "text/html": {}}, "description": "The feature."}},
)
async def feature(
    request: Request,
    conn: ReadConn,
    collectionId: CollectionId,
    featureId: Annotated[
        str,
        Path(description="Feature id (tracks: DEVICE_YYYY-MM-DD)."),
    ],
    f: FQuery = None,
) -> Response:
    fmt = _fmt(request, f)
    spec = await store.get_collection(conn, collectionId)
    _audit_if_cases(request, spec)
    text = await store.read_feature(conn, spec, spec.parse_feature_id(featureId))
    doc = json.loads(text)
    url = f"{_base(request)}/collections/{spec.id}"
    doc["links"] = _self_links(f"{url}/items/{featureId}", fmt, GEOJSON) + [
        _link(url, "collection", "application/json", spec.title)
    ]
    return _respond(doc, fmt, f"{spec.title}: {featureId}", GEOJSON, json.dumps(doc))


def install(app: FastAPI) -> None:
    """Mount the router (its malformed parameters answer 400: ``route_class`` above)."""
    app_state(app).ogc_page_cache = TileCache(max_bytes=32 * 1024 * 1024, max_items=5_000)
    app.include_router(router)
