"""Row-level security enforced by PostgreSQL itself, queried as the API's own role.

``app_db_url`` is a LOGIN member of ``geomon_app`` (neither owner nor superuser). Each test
sets the per-transaction context the API sets (geomon.agency_id, geomon.role) by hand.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.helpers.agency_data import AgencyData, seed_agency

# table → SQL returning the canary text (or an id) of each visible row of an agency
ROW_PROBES = {
    "devices": "SELECT uid FROM devices",
    "positions": "SELECT device_id::text FROM positions",
    "track_days": "SELECT device_id::text FROM track_days",
    "device_latest": "SELECT device_id::text FROM device_latest",
    "observations": "SELECT text FROM observations",
    "incidents": "SELECT source FROM incidents",
    "zones": "SELECT name FROM zones",
    "events": "SELECT note FROM events",
    "hotspot_runs": "SELECT created_by FROM hotspot_runs",
    "hotspot_cells": "SELECT category FROM hotspot_cells",
    "surfaces": "SELECT name FROM surfaces",
    "corridors": "SELECT created_by FROM corridors",
}
REFERENCE_OK = {
    "agencies",
    "countries",
    "places",
    "borders",
    "agency_shares",
    "users",
    "api_tokens",
    "sessions",
    "audit_log",
    "layer_versions",
    "case_categories",  # case vocabularies (0019): reference data, SELECT only
    "case_substances",
    "case_units",
    "case_concealments",
    "case_transport_modes",
    "basemap_features",  # Natural Earth / OSM basemap (0036): reference data, SELECT only
    "spatial_ref_sys",
    "geometry_columns",
    "geography_columns",
}  # PostGIS catalogues


@pytest.fixture(scope="module")
def agencies(db_url: str) -> tuple[AgencyData, AgencyData]:
    with psycopg.connect(db_url) as conn:
        return seed_agency(conn, 0), seed_agency(conn, 1)


@pytest.fixture
def app_conn(app_db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(app_db_url) as c:
        yield c


def _context(conn: psycopg.Connection, agency: AgencyData | None, role: str = "viewer") -> None:
    conn.execute(
        "SELECT set_config('geomon.system', 'off', true), "
        "set_config('geomon.agency_id', %s, true), set_config('geomon.role', %s, true)",
        ("" if agency is None else str(agency.agency_id), role),
    )


def _seen(conn: psycopg.Connection, a: AgencyData) -> dict[str, bool]:
    """Per table: is any row of agency ``a`` visible?"""
    out = {}
    for table, probe in ROW_PROBES.items():
        values = {str(v[0]) for v in conn.execute(probe).fetchall()}
        out[table] = any(a.canary in v or v == str(a.ids["device"]) for v in values)
    return out


def test_app_role_is_neither_owner_nor_superuser(app_conn: psycopg.Connection) -> None:
    row = app_conn.execute(
        "SELECT r.rolsuper, r.rolbypassrls, pg_has_role(current_user, 'geomon_app', 'MEMBER'), "
        "(SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid) "
        "FROM pg_roles r WHERE r.rolname = current_user"
    ).fetchone()
    assert row == (False, False, True, 0)


def test_without_context_the_app_role_sees_no_agency_rows(
    app_conn: psycopg.Connection, agencies: tuple[AgencyData, AgencyData]
) -> None:
    for table, probe in ROW_PROBES.items():
        assert app_conn.execute(probe).fetchall() == [], table
    # reference data stays readable
    assert app_conn.execute("SELECT count(*) FROM countries").fetchone()[0] > 0


def test_own_agency_sees_everything_of_its_own_and_nothing_else(
    app_conn: psycopg.Connection, agencies: tuple[AgencyData, AgencyData]
) -> None:
    a, b = agencies
    _context(app_conn, b)
    assert not any(_seen(app_conn, a).values()), _seen(app_conn, a)
    assert all(_seen(app_conn, b).values()), _seen(app_conn, b)


def test_system_switch_does_not_work_for_the_app_role(
    app_conn: psycopg.Connection, agencies: tuple[AgencyData, AgencyData]
) -> None:
    a, b = agencies
    app_conn.execute("SET geomon.system = 'on'")
    assert not any(_seen(app_conn, a).values())


def test_shares_open_exactly_their_scope(
    db_url: str, app_conn: psycopg.Connection, agencies: tuple[AgencyData, AgencyData]
) -> None:
    a, b = agencies
    with psycopg.connect(db_url) as owner:
        owner.execute(
            "INSERT INTO agency_shares (from_agency_id, to_agency_id, scope) "
            "VALUES (%s, %s, 'positions'), (%s, %s, 'incidents')",
            (a.agency_id, b.agency_id, a.agency_id, b.agency_id),
        )
        owner.commit()
    try:
        _context(app_conn, b)
        seen = _seen(app_conn, a)
        assert seen == {
            **{t: False for t in ROW_PROBES},
            "devices": True,
            "positions": True,
            "track_days": True,
            "device_latest": True,
            "incidents": True,
        }
        # sharing is one-way: A still sees nothing of B
        app_conn.rollback()
        _context(app_conn, a)
        assert not any(_seen(app_conn, b).values())
    finally:
        with psycopg.connect(db_url) as owner:
            owner.execute("DELETE FROM agency_shares WHERE from_agency_id = %s", (a.agency_id,))


def test_writes_need_an_analyst_of_the_owning_agency(
    app_conn: psycopg.Connection, agencies: tuple[AgencyData, AgencyData]
) -> None:
    a, b = agencies
    insert = (
        "INSERT INTO incidents (agency_id, category, occurred_at, geom) VALUES "
        "(%s, 'detention', now(), ST_SetSRID(ST_MakePoint(70, 40), 4326))"
    )
    _context(app_conn, b, role="viewer")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        app_conn.execute(insert, (b.agency_id,))
    app_conn.rollback()
    _context(app_conn, b, role="analyst")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        app_conn.execute(insert, (a.agency_id,))
    app_conn.rollback()
    _context(app_conn, b, role="analyst")
    app_conn.execute(insert, (b.agency_id,))
    # an UPDATE cannot reach another agency's rows (0 rows, not an error) …
    assert (
        app_conn.execute("UPDATE zones SET name = name WHERE id = %s", (a.ids["zone"],)).rowcount
        == 0
    )
    # … nor move an own row to another agency
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        app_conn.execute(
            "UPDATE zones SET agency_id = %s WHERE id = %s", (a.agency_id, b.ids["zone"])
        )
    app_conn.rollback()


def test_owner_is_forced_too_once_the_system_switch_is_off(
    conn: psycopg.Connection, agencies: tuple[AgencyData, AgencyData]
) -> None:
    a, b = agencies
    assert all(_seen(conn, a).values())  # the owner (ingest, CLI) sees everything by default
    _context(conn, b)
    assert not any(_seen(conn, a).values())  # FORCE: the policies bind the owner as well
    conn.rollback()


def test_audit_log_is_insert_only_for_the_app_role(
    app_conn: psycopg.Connection, conn: psycopg.Connection
) -> None:
    app_conn.execute(
        "INSERT INTO audit_log (method, route, path, status) VALUES ('GET', '/t', '/t', 200)"
    )
    app_conn.commit()
    for statement in (
        "UPDATE audit_log SET status = 500",
        "DELETE FROM audit_log",
        "SELECT * FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            app_conn.execute(statement)
        app_conn.rollback()
    # the trigger refuses changes even to the owner
    for statement in ("UPDATE audit_log SET status = 500", "DELETE FROM audit_log"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement)
        conn.rollback()


def test_basemap_is_read_only_for_the_app_role(app_conn: psycopg.Connection) -> None:
    """basemap_features is reviewed as reference data: the app role may read, never change."""
    for statement in ("DELETE FROM basemap_features", "UPDATE basemap_features SET minzoom = 0"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_conn.execute(statement)
        app_conn.rollback()


def test_ingest_rejects_and_partitions_are_out_of_reach(app_conn: psycopg.Connection) -> None:
    for statement in ("SELECT * FROM ingest_rejects", "SELECT * FROM positions_default"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_conn.execute(statement)
        app_conn.rollback()


def test_every_table_the_app_role_can_touch_is_forced_or_reviewed(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
        "AND c.relkind IN ('r', 'p', 'v', 'm') AND (has_table_privilege('geomon_app', c.oid, "
        "'SELECT') OR has_table_privilege('geomon_app', c.oid, 'INSERT') OR "
        "has_table_privilege('geomon_app', c.oid, 'UPDATE') OR "
        "has_table_privilege('geomon_app', c.oid, 'DELETE'))"
    ).fetchall()
    unreviewed = [
        name for name, rls, forced in rows if not (rls and forced) and name not in REFERENCE_OK
    ]
    assert unreviewed == []
    forced = {name for name, rls, f in rows if rls and f}
    assert set(ROW_PROBES) <= forced
