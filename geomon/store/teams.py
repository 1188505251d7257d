"""The console's team list: every device of the caller's agencies with its latest fix and a
status (moving, stopped, silent, never seen), computed in one query under row-level security.
"""

from __future__ import annotations

from typing import Any

import psycopg

TEAM_STATUSES = ("moving", "stopped", "silent", "never_seen")
MOVING_MIN_MPS = 1.0  # below 3.6 km/h a parked vehicle's GPS jitter, not a patrol

_TEAMS = """
SELECT d.id AS device_id, d.uid, d.name, d.kind, a.code AS agency, d.active,
       l.fix_time, ST_X(l.geom) AS lon, ST_Y(l.geom) AS lat, l.speed_mps, l.course_deg,
       CASE WHEN l.device_id IS NULL THEN 'never_seen'
            WHEN l.fix_time < now() - make_interval(secs => %(silent)s) THEN 'silent'
            WHEN coalesce(l.speed_mps, 0) >= %(moving)s THEN 'moving'
            ELSE 'stopped' END AS status
FROM devices d JOIN agencies a ON a.id = d.agency_id
LEFT JOIN device_latest l ON l.device_id = d.id
WHERE d.active
ORDER BY a.code, d.name, d.id
"""


async def team_list(conn: psycopg.AsyncConnection, *, silent_after_s: int) -> list[dict[str, Any]]:
    """Every active device the caller may see, with its latest fix (or none) and status."""
    cur = await conn.execute(_TEAMS, {"silent": float(silent_after_s), "moving": MOVING_MIN_MPS})
    names = [c.name for c in cur.description or ()]
    return [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]
