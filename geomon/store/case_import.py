"""Bulk case import: COPY into a temporary staging table, then one set-based upsert.

:class:`Staging` takes normalised cases (geomon.cases.normalise) row by row into
``COPY case_import FROM STDIN``; :meth:`Staging.merge` then, in the caller's transaction:

1. finds the staged rows that would change something (new, deleted, or any field distinct
   from the stored case) with the stored row as JSON for the history;
2. one ``INSERT … ON CONFLICT (agency_id, source, external_id) DO UPDATE`` of those rows only,
   whose ``RETURNING`` feeds, in the same statement, one history row per created/updated case
   (``create``/``update``, before and after).

An unchanged row is read once and written nowhere, so re-importing a file is a COPY and a
join. Everything happens in one transaction: an error anywhere leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from geomon.errors import NotFound
from geomon.store.cases import _ROW_JSON

COLUMNS = (
    "line",
    "external_id",
    "category",
    "substance",
    "quantity_kg",
    "quantity_count",
    "unit",
    "occurred_at",
    "lon",
    "lat",
    "concealment",
    "transport_mode",
    "origin_country",
    "transit_countries",
    "destination_country",
    "seizing_unit",
    "note",
    "flags",
)
_CREATE = """
CREATE TEMP TABLE case_import (
  line int PRIMARY KEY, external_id text NOT NULL, category text, substance text,
  quantity_kg float8, quantity_count bigint, unit text, occurred_at timestamptz,
  lon float8, lat float8, concealment text, transport_mode text, origin_country text,
  transit_countries text[], destination_country text, seizing_unit text, note text,
  flags text[]
) ON COMMIT DROP
"""
# the compared fields: what an import can change (updated_* and deleted_* follow)
_FIELDS = (
    "category, substance, quantity_kg, quantity_count, unit, occurred_at, concealment, "
    "transport_mode, origin_country, transit_countries, destination_country, seizing_unit, "
    "note, flags"
)
_S_FIELDS = ", ".join(f"s.{f.strip()}" for f in _FIELDS.split(","))
_C_FIELDS = ", ".join(f"c.{f.strip()}" for f in _FIELDS.split(","))
_CHANGES = f"""
CREATE TEMP TABLE case_import_changes ON COMMIT DROP AS
SELECT s.line, s.external_id, c.id AS case_id,
       CASE WHEN c.id IS NULL THEN NULL ELSE {_ROW_JSON} END AS before
FROM case_import s
LEFT JOIN cases c ON c.agency_id = %(agency)s AND c.source = %(source)s
  AND c.external_id = s.external_id
LEFT JOIN agencies a ON a.id = c.agency_id
WHERE c.id IS NULL OR c.deleted_at IS NOT NULL
   OR ({_C_FIELDS}, ST_X(c.geom), ST_Y(c.geom)) IS DISTINCT FROM ({_S_FIELDS}, s.lon, s.lat)
"""
# the history row of each written case in the same statement, from what the upsert returns
_AFTER = _ROW_JSON.replace("c.", "up.").replace("a.code", "%(agency_code)s::text")
_UPSERT = f"""
WITH up AS (
  INSERT INTO cases (agency_id, source, external_id, {_FIELDS}, geom, updated_by)
  SELECT %(agency)s, %(source)s, s.external_id, {_S_FIELDS},
         ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), %(by)s
  FROM case_import s JOIN case_import_changes ch ON ch.line = s.line
  ON CONFLICT (agency_id, source, external_id) DO UPDATE SET
    {", ".join(f"{f.strip()} = EXCLUDED.{f.strip()}" for f in _FIELDS.split(","))},
    geom = EXCLUDED.geom, updated_at = now(), updated_by = EXCLUDED.updated_by,
    deleted_at = NULL, deleted_by = NULL, deleted_why = NULL
  RETURNING *
)
INSERT INTO case_history (case_id, agency_id, action, by, why, before, after)
SELECT up.id, up.agency_id, CASE WHEN ch.case_id IS NULL THEN 'create' ELSE 'update' END,
       %(by)s, %(why)s, ch.before, {_AFTER}
FROM up JOIN case_import_changes ch ON ch.external_id = up.external_id
ORDER BY ch.line
"""
_COUNTS = "SELECT count(*) FILTER (WHERE case_id IS NULL), count(*) FROM case_import_changes"


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class Staging:
    """``with Staging(conn) as st: st.add(line, case) …`` then ``st.merge(...)``, all inside
    one transaction of ``conn`` (the staging tables drop at its COMMIT)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.rows = 0
        self._copy: Any = None
        self._cm: Any = None

    def __enter__(self) -> Staging:
        self.conn.execute(_CREATE)
        self._cm = self.conn.cursor().copy(f"COPY case_import ({', '.join(COLUMNS)}) FROM STDIN")
        self._copy = self._cm.__enter__()
        return self

    def add(self, line: int, case: dict[str, Any]) -> None:
        self._copy.write_row(
            (
                line,
                case["external_id"],
                case["category"],
                case["substance"],
                case["quantity_kg"],
                case["quantity_count"],
                case["unit"],
                case["occurred_at"],
                case["lon"],
                case["lat"],
                case["concealment"],
                case["transport_mode"],
                case["origin_country"],
                case["transit_countries"],
                case["destination_country"],
                case["seizing_unit"],
                case["note"],
                case["flags"],
            )
        )
        self.rows += 1

    def __exit__(self, *exc: Any) -> None:
        if self._cm is not None:
            cm, self._cm = self._cm, None
            cm.__exit__(*exc)

    def close(self) -> None:
        """End the COPY (before :meth:`merge`, or before giving up)."""
        self.__exit__(None, None, None)

    def merge(self, *, agency_id: int, source: str, by: str, why: str = "") -> Outcome:
        """Upsert the staged rows that change something; history for exactly those."""
        self.close()
        row = self.conn.execute("SELECT code FROM agencies WHERE id = %s", (agency_id,)).fetchone()
        if row is None:
            raise NotFound(f"no agency {agency_id}")
        p = {"agency": agency_id, "agency_code": row[0], "source": source, "by": by, "why": why}
        self.conn.execute("ANALYZE case_import")  # the planner's row count: a hash join, not loops
        self.conn.execute(_CHANGES, p)
        row = self.conn.execute(_COUNTS).fetchone()
        assert row is not None
        created, changed = int(row[0]), int(row[1])
        if changed:
            self.conn.execute(_UPSERT, p)
        return Outcome(created, changed - created, self.rows - changed)
