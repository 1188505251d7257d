"""Static assets served by our own server: the npm packages the map needs (installed by
scripts/setup into node_modules, never committed) and our own small scripts and styles.

Situation centres are often offline, so the map page loads nothing from any other origin.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.responses import Response
from starlette.types import Scope

from geomon.errors import ConfigError
from geomon.settings import Settings

# URL prefix → folder inside the npm package. Only these are exposed.
VENDOR_PACKAGES: dict[str, str] = {
    "leaflet": "leaflet/dist",
    "leaflet-realtime": "leaflet-realtime/dist",
    "leaflet.markercluster": "leaflet.markercluster/dist",
    "leaflet.fullscreen": "leaflet.fullscreen",
    "chart.js": "chart.js/dist",  # the console's dashboard charts (UMD build)
    "leaflet-geoman": "@geoman-io/leaflet-geoman-free/dist",  # drawing areas and zones
    "protomaps-leaflet": "protomaps-leaflet/dist",  # the offline basemap's vector renderer
    "cytoscape": "cytoscape/dist",  # the link chart (UMD build, loaded when first opened)
}

OWN_STATIC = Path(__file__).resolve().parent.parent / "static"
# npm packages change only with a deploy: a day without revalidating; our own scripts are
# revalidated every time (ETag / Last-Modified answer 304) so a deploy shows at once.
VENDOR_CACHE = "public, max-age=86400"
OWN_CACHE = "no-cache"
# Tiles are compressed already (PNG) or tiny and hot (MVT): not worth the CPU.
NOT_GZIPPED = (
    *DEFAULT_EXCLUDED_CONTENT_TYPES,
    "application/vnd.mapbox-vector-tile",
    "application/x-protobuf",
)


class CachedStaticFiles(StaticFiles):
    """StaticFiles with one Cache-Control header on every answer."""

    def __init__(self, *, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory)
        self.cache_control = cache_control

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.setdefault("Cache-Control", self.cache_control)
        return response


def vendor_url(package: str, file: str) -> str:
    if package not in VENDOR_PACKAGES:
        raise KeyError(package)
    return f"/static/vendor/{package}/{file}"


def mount(app: FastAPI, settings: Settings) -> None:
    """Mount /static/vendor/<package>/ for each allowed npm package and /static/app/."""
    assets = settings.api.assets_dir.resolve()
    for name, sub in VENDOR_PACKAGES.items():
        folder = assets / sub
        if not folder.is_dir():
            raise ConfigError(
                f"front-end package {name!r} is missing at {folder}: run scripts/setup "
                "(npm ci) or set GEOMON_API__ASSETS_DIR"
            )
        app.mount(
            f"/static/vendor/{name}",
            CachedStaticFiles(directory=folder, cache_control=VENDOR_CACHE),
            name=f"vendor-{name}",
        )
    app.mount(
        "/static/app",
        CachedStaticFiles(directory=OWN_STATIC, cache_control=OWN_CACHE),
        name="app-static",
    )


def compress(app: FastAPI) -> None:
    """gzip answers over 1 KiB for clients that accept it (the map page is ~0.8 MB of HTML and
    GeoJSON). Level 1: on OGC pages it compresses nearly as well as level 5 for a third of the
    CPU, and compressing was the API process's largest single cost after its socket calls
    under bench/api.py (docs/performance.md). The live stream
    (text/event-stream) and tiles are left alone."""
    app.add_middleware(
        GZipMiddleware, minimum_size=1024, compresslevel=1, exclude_content_types=NOT_GZIPPED
    )
