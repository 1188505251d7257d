"""track_days: one row per device and UTC day with the extent of its valid fixes

The OGC ``tracks`` collection is one line per (device, UTC day). Built by aggregating all
fixes and filtering the lines afterwards, an empty bbox over 30 days at 10 M positions read
every fix (issue 16: 23-25 s). ``track_days`` holds, per device-day that has valid fixes, the
envelope of those fixes: a page filters these rows by bbox (GiST), day and key (the primary
key, in page order) and builds only the lines it returns, from the positions primary key.

- Maintained by a statement-level trigger on ``positions`` (INSERT and UPDATE, transition
  table): one upsert per device-day of the statement, in key order (no deadlock between
  concurrent batches), the extent only ever grows, and it is only rewritten when it grows.
  The extent is a superset of the day's valid fixes; deleted fixes leave it larger, which a
  page tolerates (it still builds the line from ``positions`` and drops empty ones).
- ``t_lo``/``t_hi``: the day's bounds as stored columns. Under RLS only leakproof conditions
  are index conditions: ``fix_time >= day::timestamp AT TIME ZONE 'UTC'`` (timezone() is not
  leakproof) filtered all 43,200 fixes of a device's month per line; ``fix_time >= t_lo``
  is a primary key range.
- RLS ENABLEd and FORCEd like ``positions`` (migration 0003): through the device's agency
  under the share scope ``positions``; whoever may write a fix may write its day.
- Backfilled from the stored positions.

Revision ID: 0030
Revises: 0022
"""

from __future__ import annotations

from alembic import op

revision = "0030"
down_revision = "0022"
branch_labels = None
depends_on = None

APP_ROLE = "geomon_app"
SYSTEM = "(SELECT geomon_rls_system())"
WRITER = "(SELECT geomon_can_write())"
OWN = "(SELECT geomon_agency_id())"
VISIBLE = "(SELECT geomon_visible_agencies('positions'))::integer[]"

DDL = """
CREATE TABLE track_days (
  device_id integer NOT NULL REFERENCES devices(id),
  day date NOT NULL,
  extent geometry(Geometry, 4326) NOT NULL,
  t_lo timestamptz GENERATED ALWAYS AS (day::timestamp AT TIME ZONE 'UTC') STORED,
  t_hi timestamptz GENERATED ALWAYS AS ((day + 1)::timestamp AT TIME ZONE 'UTC') STORED,
  PRIMARY KEY (device_id, day)
);
CREATE INDEX ix_track_days_extent ON track_days USING gist (extent);
CREATE FUNCTION geomon_track_days_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO track_days AS t (device_id, day, extent)
  SELECT device_id, (fix_time AT TIME ZONE 'UTC')::date,
         ST_SetSRID(ST_Extent(geom)::geometry, 4326)
  FROM new_rows WHERE valid GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (device_id, day) DO UPDATE
    SET extent = ST_Envelope(ST_Collect(t.extent, excluded.extent))
    WHERE NOT (t.extent ~ excluded.extent);
  RETURN NULL;
END $$;
CREATE TRIGGER positions_track_days_insert AFTER INSERT ON positions
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION geomon_track_days_note();
CREATE TRIGGER positions_track_days_update AFTER UPDATE ON positions
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION geomon_track_days_note();
INSERT INTO track_days (device_id, day, extent)
SELECT device_id, (fix_time AT TIME ZONE 'UTC')::date,
       ST_SetSRID(ST_Extent(geom)::geometry, 4326)
FROM positions WHERE valid GROUP BY 1, 2;
"""


def _policies(table: str, read: str, write: str) -> list[str]:
    write = f"{SYSTEM} OR (({write}) AND {WRITER})"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY geomon_read ON {table} FOR SELECT USING ({SYSTEM} OR ({read}))",
        f"CREATE POLICY geomon_insert ON {table} FOR INSERT WITH CHECK ({write})",
        f"CREATE POLICY geomon_update ON {table} FOR UPDATE USING ({write}) WITH CHECK ({write})",
        f"CREATE POLICY geomon_delete ON {table} FOR DELETE USING ({write})",
    ]


def upgrade() -> None:
    op.execute(DDL)
    for sql in _policies(
        "track_days",
        f"device_id IN (SELECT d.id FROM devices d WHERE d.agency_id = ANY ({VISIBLE}))",
        f"device_id IN (SELECT d.id FROM devices d WHERE d.agency_id = {OWN})",
    ):
        op.execute(sql)
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON track_days TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS positions_track_days_update ON positions")
    op.execute("DROP TRIGGER IF EXISTS positions_track_days_insert ON positions")
    op.execute("DROP TABLE IF EXISTS track_days")
    op.execute("DROP FUNCTION IF EXISTS geomon_track_days_note()")
