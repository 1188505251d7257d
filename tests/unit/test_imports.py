"""The one-way import rules of DESIGN.md section 2, read from every module's import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("geomon", "sensors", "tiles", "api")
FORBIDDEN = {
    "geomon": {"api", "sensors", "tiles"},
    "sensors": {"api", "tiles"},
    "tiles": {"api", "sensors"},
    "api": {"sensors"},
}
SPATIAL_FORBIDDEN = {
    "psycopg",
    "psycopg_pool",
    "fastapi",
    "serial",
    "folium",
    "sqlalchemy",
    "geoalchemy2",
    "starlette",
    "uvicorn",
    "httpx",
    "paho",
}


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layering(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    roots = _imported_roots(path)
    assert not roots & FORBIDDEN[package], f"{package} must not import {roots & FORBIDDEN[package]}"
    rel = path.relative_to(ROOT).as_posix()
    if rel.startswith("geomon/spatial/"):
        assert not roots & SPATIAL_FORBIDDEN, f"geomon.spatial is pure: {roots & SPATIAL_FORBIDDEN}"
        if rel != "geomon/spatial/raster_io.py":
            assert "rasterio" not in roots, "rasterio only in geomon/spatial/raster_io.py"


SQL_START = (
    "SELECT ",
    "INSERT INTO",
    "UPDATE ",
    "DELETE FROM",
    "CREATE ",
    "COPY ",
    "WITH ",
    "ALTER ",
    "DROP ",
)


def test_sql_only_in_store() -> None:
    """No SQL string literals outside geomon/store (and the migrations)."""
    offenders = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("geomon/store/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.lstrip().startswith(SQL_START)
            ):
                offenders.append(f"{rel}:{node.lineno}: {node.value.strip()[:50]}")
    assert offenders == []
