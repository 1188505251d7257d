"""Static assets served by our own server: the npm packages the map needs (installed by
scripts/setup into node_modules, never committed) and our own small scripts and styles.

Situation centres are often offline, so the map page loads nothing from any other origin.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from geomon.errors import ConfigError
from geomon.settings import Settings

# URL prefix → folder inside the npm package. Only these are exposed.
VENDOR_PACKAGES: dict[str, str] = {
    "leaflet": "leaflet/dist",
    "leaflet-realtime": "leaflet-realtime/dist",
    "leaflet.markercluster": "leaflet.markercluster/dist",
    "leaflet.fullscreen": "leaflet.fullscreen",
}

OWN_STATIC = Path(__file__).resolve().parent.parent / "static"


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
        app.mount(f"/static/vendor/{name}", StaticFiles(directory=folder), name=f"vendor-{name}")
    app.mount("/static/app", StaticFiles(directory=OWN_STATIC), name="app-static")
