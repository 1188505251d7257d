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

# file formats and file access: geomon/analysis does the engine's file mode
SPATIAL_NO_FILES = {"csv", "tomllib", "pyogrio", "fiona"}
FILE_METHODS = {"open", "read_text", "read_bytes", "write_text", "write_bytes"}


def _file_calls(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            f = node.func
            name = (
                f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            )
            if name in FILE_METHODS:
                out.append(f"{path.name}:{node.lineno}: {name}()")
    return out


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
            assert not roots & SPATIAL_NO_FILES, (
                f"geomon.spatial reads no files ({roots & SPATIAL_NO_FILES}): readers belong "
                "in geomon/analysis (e.g. hotspot_files, surface_config)"
            )
            assert not _file_calls(path), f"geomon.spatial opens no files: {_file_calls(path)}"


# geomon.store is the bottom layer: it may use the core's plain types and pure helpers (model,
# errors, settings, alerts' types, plate normalisation, vocabularies) but never runs the engine,
# the services, ingest or the CLI (issue 15: store/coverage.py used to run the coverage).
STORE_FORBIDDEN = ("geomon.spatial", "geomon.analysis", "geomon.pipeline", "geomon.cli")


def _imported_modules(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def test_store_is_the_bottom_layer() -> None:
    offenders = sorted(
        f"{path.relative_to(ROOT).as_posix()}: {mod}"
        for path in sorted((ROOT / "geomon" / "store").rglob("*.py"))
        for mod in _imported_modules(path)
        if mod.startswith(STORE_FORBIDDEN)
    )
    assert offenders == [], "geomon.store imports the layers above it"


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


def _fstring_head(node: ast.JoinedStr) -> str:
    """The text an f-string starts with (up to its first placeholder)."""
    first = node.values[0] if node.values else None
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return ""


SQL_COMMANDS = (*SQL_START, "LISTEN ", "NOTIFY ", "UNLISTEN ", "TRUNCATE ", "SET ", "VACUUM ")
EXECUTE_METHODS = {"execute", "executemany"}


def sql_outside_store(path: Path) -> list[str]:
    """SQL in ``path``: f-strings that start like a command, and every ``.execute(``
    call (whatever its argument: a variable, a psycopg.sql object, an f-string)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr) and _fstring_head(node).lstrip().startswith(
            SQL_COMMANDS
        ):
            out.append(f"{node.lineno}: f-string {_fstring_head(node).strip()[:40]}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in EXECUTE_METHODS
            and node.args
        ):
            out.append(f"{node.lineno}: .{node.func.attr}({ast.unparse(node.args[0])[:40]})")
    return out


def test_no_sql_or_execute_outside_store() -> None:
    """Beyond string constants: f-string SQL and any execute() call outside geomon/store
    (the store owns every statement; callers get functions)."""
    offenders = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith("geomon/store/"):
            offenders += [f"{rel}:{o}" for o in sql_outside_store(path)]
    assert offenders == [], "move these into a geomon/store function"


def test_the_sql_check_sees_what_the_old_one_missed(tmp_path: Path) -> None:
    """The two shapes api/live.py used to have, and a statement passed by name."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "async def f(conn, ch, q):\n"
        "    await conn.execute(f'LISTEN {ch}')\n"
        "    await conn.execute(q)\n"
        "    x = f'SELECT * FROM t WHERE id = {ch}'\n",
        encoding="utf-8",
    )
    found = sql_outside_store(probe)
    assert len(found) == 4 and any("f-string LISTEN" in f for f in found), found
