"""watchlist_near: the near-miss index of watch-list entries as btree rows

``watchlist_entries.near`` (0020) holds each exact entry's one-character deletions in a GIN
index, but ``&&`` on arrays is not LEAKPROOF: under the table's forced row-level security
PostgreSQL evaluates the policy first and cannot use the index, so every low-confidence read
compared itself with every entry (bench/plates.py: a batch of 20 reads against 20,000
entries took over a minute). One row per (entry, deletion) with a btree on the deletion
lets the matcher (geomon/store/watchlist_matching.py, run by the ingest writer as owner) use
``del = ANY(...)`` — text equality is leakproof. The rows are kept by a statement trigger
(SECURITY DEFINER: the API's role inserts entries but has no grant on this table); removed
entries stay and are filtered by ``removed_at`` when matched.

Revision ID: 0031
Revises: 0033
"""

from __future__ import annotations

from alembic import op

revision = "0031"
down_revision = "0033"
branch_labels = None
depends_on = None

DDL = """
CREATE TABLE watchlist_near (
  entry_id bigint NOT NULL
    CONSTRAINT fk_watchlist_near_entry_id_watchlist_entries
    REFERENCES watchlist_entries(id) ON DELETE CASCADE,
  del text NOT NULL
);
CREATE INDEX ix_watchlist_near_del ON watchlist_near (del);
CREATE INDEX ix_watchlist_near_entry_id ON watchlist_near (entry_id);
COMMENT ON TABLE watchlist_near IS
  'One-character deletions of exact watch-list entries (near-miss index; trigger-maintained)';
INSERT INTO watchlist_near (entry_id, del)
  SELECT w.id, d FROM watchlist_entries w, unnest(w.near) d;
CREATE FUNCTION geomon_watchlist_near_rows() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO watchlist_near (entry_id, del)
    SELECT n.id, d FROM new_rows n, unnest(n.near) d;
  RETURN NULL;
END $$;
CREATE TRIGGER watchlist_near_rows AFTER INSERT ON watchlist_entries
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION geomon_watchlist_near_rows();
REVOKE ALL ON FUNCTION geomon_watchlist_near_rows() FROM PUBLIC;
"""


def upgrade() -> None:
    op.execute(DDL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS watchlist_near_rows ON watchlist_entries")
    op.execute("DROP FUNCTION IF EXISTS geomon_watchlist_near_rows()")
    op.execute("DROP TABLE IF EXISTS watchlist_near")
