"""``layer_versions``: a change counter per table, bumped by statement triggers (migration 0006).

Tile caches key on these counters: any committed INSERT/UPDATE/DELETE/TRUNCATE on a table behind
a layer — by the API, the ingest writer, the event engine or psql — bumps its counter, so a cached
tile is never served after its rows changed (docs/api.md, "Tile cache").
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Table, Text, func, text

from geomon.store.schema import metadata

layer_versions = Table(
    "layer_versions",
    metadata,
    Column("table_name", Text, primary_key=True),
    Column("version", BigInteger, nullable=False, server_default=text("0")),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    comment="Change counter per table for tile-cache invalidation (statement triggers).",
)
