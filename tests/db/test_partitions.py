"""A fix for a month with no partition is stored (default partition) and later moved."""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg

from geomon.store.devices import add_device
from geomon.store.partitions import ensure_month, existing_partitions


def _where(conn: psycopg.Connection, device_id: int, t: datetime) -> str:
    row = conn.execute(
        "SELECT tableoid::regclass::text FROM positions WHERE device_id = %s AND fix_time = %s",
        (device_id, t),
    ).fetchone()
    assert row is not None
    return row[0]


def test_fix_without_partition_is_kept_and_moved(conn: psycopg.Connection) -> None:
    dev = add_device(conn, uid="PART-1", kind="tracker", agency="TEST")
    t = datetime(2019, 3, 14, 15, 9, 26, tzinfo=UTC)
    assert "positions_201903" not in existing_partitions(conn)
    conn.execute(
        "INSERT INTO positions (device_id, fix_time, geom) VALUES "
        "(%s, %s, ST_SetSRID(ST_MakePoint(69.2, 41.3), 4326))",
        (dev.id, t),
    )
    conn.commit()
    assert _where(conn, dev.id, t) == "positions_default"
    assert ensure_month(conn, date(2019, 3, 1)) is True
    assert _where(conn, dev.id, t) == "positions_201903"
    assert ensure_month(conn, date(2019, 3, 1)) is False
    count = conn.execute(
        "SELECT count(*) FROM positions WHERE device_id = %s", (dev.id,)
    ).fetchone()
    assert count == (1,)
