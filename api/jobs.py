"""Surface and corridor jobs built from the API (docs/corridors.md).

The work runs after the response in a worker thread, on its own connection under the caller's
row-level-security context (so the rows it writes belong to the caller's agency), at most
:data:`MAX_RUNNING` at a time. Job status lives in the API process (results live in PostGIS): a
restart forgets queued jobs, and a job is only visible to users of the agency that started it.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path as FsPath
from typing import Annotated, Any

import psycopg
from fastapi import BackgroundTasks, Path, Request
from fastapi.responses import JSONResponse

from api.common import json_response
from api.deps import Principal, agency_of
from api.state import app_state
from geomon.errors import GeomonError, NotFound
from geomon.store.hotspots import set_caller_context

log = logging.getLogger(__name__)
MAX_RUNNING = 2
MAX_JOBS = 500
JobId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Job id.")]
Work = Callable[[psycopg.Connection, FsPath], dict[str, Any]]


@dataclass
class Job:
    id: int
    kind: str
    agency_id: int
    user: str
    status: str = "queued"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "created_at": self.created_at,
            "created_by": self.user,
            "result": self.result or None,
            "error": self.error,
        }


class Jobs:
    """The process's corridor/surface jobs (bounded; oldest finished ones dropped first)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._jobs: OrderedDict[int, Job] = OrderedDict()
        self.slots = threading.BoundedSemaphore(MAX_RUNNING)

    def new(self, kind: str, agency_id: int, user: str) -> Job:
        job = Job(next(self._ids), kind, agency_id, user)
        self._jobs[job.id] = job
        while len(self._jobs) > MAX_JOBS:
            self._jobs.popitem(last=False)
        return job

    def get(self, job_id: int, kind: str, agency_id: int | None) -> Job:
        job = self._jobs.get(job_id)
        if job is None or job.kind != kind or job.agency_id != agency_id:
            raise NotFound(f"no {kind} job {job_id} (or not your agency's)")
        return job


def jobs_of(request: Request) -> Jobs:
    return app_state(request).jobs


def _run(request: Request, job: Job, principal: Principal, work: Work) -> None:
    """Worker thread: one transaction under the caller's RLS context; commit or fail."""
    settings = app_state(request).settings
    url = settings.db.app_url or settings.db.url
    with jobs_of(request).slots:
        job.status = "running"
        try:
            with psycopg.connect(url, connect_timeout=10) as conn:
                set_caller_context(
                    conn, agency_id=principal.agency_id, role=principal.role, user=principal.user
                )
                job.result = work(conn, settings.data_dir)
                conn.commit()
            job.status = "done"
        except GeomonError as exc:
            job.status, job.error = "failed", str(exc)
        except Exception:
            log.exception("%s job %d failed", job.kind, job.id)
            job.status, job.error = "failed", "internal error (see the server log)"


def start(
    request: Request, tasks: BackgroundTasks, principal: Principal, kind: str, work: Work
) -> JSONResponse:
    job = jobs_of(request).new(kind, agency_of(principal), principal.user)
    tasks.add_task(_run, request, job, principal, work)
    url = f"{str(request.base_url).rstrip('/')}/api/v1/{kind}-jobs/{job.id}"
    return json_response({**job.public(), "status_url": url}, status=202)
