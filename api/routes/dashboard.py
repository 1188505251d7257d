"""The console's dashboard panel: events per hour by kind, incidents per week by category
(buckets in the caller's time zone, returned as UTC instants) and the incident categories the
caller can see. The third chart, the share of high-risk ground patrolled today, comes from
``GET /api/v1/coverage`` (api/routes/coverage.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query

from api.deps import ReadConn
from geomon.errors import InvalidRequest
from geomon.i18n.zones import is_time_zone
from geomon.store import dashboard as dashboard_store

router = APIRouter(tags=["dashboard"])


def _iso(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "at": r["at"].astimezone(UTC).isoformat()} for r in rows]


@router.get("/dashboard", summary="Counts for the console's charts")
async def dashboard(
    conn: ReadConn,
    hours: Annotated[int, Query(ge=1, le=24 * 14, description="Events: the last N hours.")] = 24,
    weeks: Annotated[int, Query(ge=1, le=104, description="Incidents: the last N weeks.")] = 12,
    time_zone: Annotated[str, Query(max_length=64, description="IANA zone of the buckets.")] = (
        "UTC"
    ),
    category: Annotated[list[str] | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    if not is_time_zone(time_zone):
        raise InvalidRequest(f"unknown time zone {time_zone!r}")
    now = datetime.now(UTC)
    # whole hours: the current one and the ``hours - 1`` before it (the chart's buckets)
    ev_since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    inc_since = now - timedelta(weeks=weeks)
    events = await dashboard_store.events_per_hour(
        conn, since=ev_since, until=now, time_zone=time_zone
    )
    incidents = await dashboard_store.incidents_per_week(
        conn, since=inc_since, until=now, time_zone=time_zone, categories=category
    )
    return {
        "time_zone": time_zone,
        "until": now.isoformat(),
        "events_per_hour": {"since": ev_since.isoformat(), "rows": _iso(events)},
        "incidents_per_week": {"since": inc_since.isoformat(), "rows": _iso(incidents)},
        "incident_categories": await dashboard_store.incident_categories(conn),
    }


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
