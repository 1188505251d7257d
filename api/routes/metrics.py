"""``GET /metrics``: this API process's counters in Prometheus text format (admins only).

Ingest runs in its own process (``geomon listen``, spawned by ``geomon serve``); its
counters are served by that process on its OsmAnd HTTP port and on ``--metrics HOST:PORT``
(GEOMON_INGEST__METRICS_HTTP), unauthenticated on the listener's own bind address.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from api.auth import require_role
from geomon.pipeline.metrics import COUNTERS

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Counters in Prometheus text format",
    dependencies=[Depends(require_role("admin"))],
)
async def metrics() -> PlainTextResponse:
    return PlainTextResponse(
        COUNTERS.prometheus(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
