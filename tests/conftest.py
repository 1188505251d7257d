"""Test fixtures against real services.

The database fixtures need GEOMON_DB__URL (scripts/test sets it from scripts/dev-db): each
test session gets a fresh database, migrated to head, with reference data loaded. Without a
URL, database tests are skipped — except in CI (CI=true), where a skipped database test is a
failure.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from geomon.basemap import NAMES_FILE, read_context, read_names
from geomon.reference import read_features, read_places
from geomon.store import databases, migrate
from geomon.store.basemap import derive_from_countries, load_context
from geomon.store.partitions import ensure_partitions
from geomon.store.reference import upsert_borders, upsert_countries, upsert_places

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "data" / "reference"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DB_DIRS = ("db", "api", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        if parts and parts[0] in DB_DIRS:
            item.add_marker(pytest.mark.db)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and item.get_closest_marker("db") is not None:
        report.outcome = "failed"
        report.longrepr = f"database test skipped in CI: {report.longrepr}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    url = os.environ.get("GEOMON_DB__URL", "")
    if not url:
        pytest.skip("GEOMON_DB__URL is not set (run the suite with scripts/test)")
    return url


def create_database(base_url: str, prefix: str = "geomon_test") -> str:
    """A new empty database (with PostGIS) on the server of ``base_url``; returns its URL."""
    return databases.create_database(base_url, prefix)


drop_database = databases.drop_database


def prepare_database(url: str) -> None:
    """Migrate to head, make partitions and load the reference data."""
    migrate.upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_partitions(conn, months_ahead=2)
    with psycopg.connect(url) as conn:
        upsert_countries(conn, read_features(REFERENCE / "countries_ne10m.geojson"))
        upsert_borders(conn, read_features(REFERENCE / "borders_ne10m.geojson"))
        upsert_places(conn, read_places(REFERENCE / "places_central_asia.csv"))
        load_context(conn, read_context(REFERENCE))
        derive_from_countries(conn, read_names(REFERENCE / NAMES_FILE))


@pytest.fixture(scope="session")
def db_url(pg_base_url: str) -> Iterator[str]:
    """A fresh migrated database with reference data, shared by the whole session."""
    url = create_database(pg_base_url)
    try:
        prepare_database(url)
        yield url
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture
def empty_db_url(pg_base_url: str) -> Iterator[str]:
    """A fresh database with nothing but PostGIS, dropped after the test."""
    url = create_database(pg_base_url, "geomon_empty")
    try:
        yield url
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url) as c:
        yield c


@pytest.fixture(scope="session")
def output_dir() -> Path:
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    return out


@pytest.fixture(scope="session")
def app_db_url(db_url: str) -> Iterator[str]:
    """``db_url``'s database as a fresh LOGIN role in the ``geomon_app`` group: neither owner
    nor superuser, so row-level security always applies (what GEOMON_DB__APP_URL points at)."""
    from geomon.credentials import generate_password
    from geomon.store.roles import create_app_login_role, drop_login_role, url_for_role

    name, password = f"geomon_app_t{uuid.uuid4().hex[:10]}", generate_password()
    with psycopg.connect(db_url, autocommit=True) as conn:
        create_app_login_role(conn, name, password)
    try:
        yield url_for_role(db_url, name, password)
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            drop_login_role(conn, name)
