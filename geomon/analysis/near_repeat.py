"""Near-repeat runs on the database: incidents → Knox table and chains → store.

The incidents are read under the caller's row-level security (an agency analyses only what it
may see), filtered by window, category and optionally one agency, projected into a metric CRS
chosen for their extent (geomon.spatial.crs), and handed to the engine
(geomon.spatial.near_repeat). Every run stores its parameters with the window pinned and the
seed, so a rerun reproduces the same table.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geomon.errors import GeomonError, InvalidRequest
from geomon.rfc3339 import Rfc3339Time
from geomon.spatial import near_repeat as nr
from geomon.spatial.crs import metric_crs_for_bbox, transform_xy
from geomon.store import near_repeat as store
from geomon.store.db import connect
from geomon.store.hotspots import set_caller_context

log = logging.getLogger(__name__)
DAY_S = 86400.0
MAX_INCIDENTS = 200_000


class NearRepeatParams(BaseModel):
    """What a near-repeat run reads and how it bands (CLI, API and reruns share it)."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, max_length=100, description="incidents.category")
    agency: str | None = Field(default=None, max_length=64, description="Only this agency's.")
    since: Rfc3339Time | None = Field(default=None, description="Window start (inclusive, UTC).")
    until: Rfc3339Time | None = Field(default=None, description="Window end (exclusive, UTC).")
    space_edges_m: list[float] = Field(
        default=[0, 500, 1000, 2000],
        min_length=1,
        max_length=nr.MAX_BANDS,
        description="Upper edges of the space bands in metres (0 = same location).",
    )
    time_edges_days: list[float] = Field(
        default=[7, 14, 21, 28],
        min_length=1,
        max_length=nr.MAX_BANDS,
        description="Upper edges of the time bands in days.",
    )
    permutations: int = Field(default=999, ge=1, le=99_999)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    chain_space_m: float | None = Field(
        default=None, ge=0, le=1e6, description="Chain link distance (default: 2nd space edge)."
    )
    chain_time_days: float | None = Field(
        default=None, ge=0, le=3650, description="Chain link time (default: 1st time edge)."
    )

    @model_validator(mode="after")
    def _check(self) -> NearRepeatParams:
        for t in (self.since, self.until):
            if t is not None and t.tzinfo is None:
                raise ValueError("since/until need a time zone (UTC)")
        if self.since and self.until and self.since >= self.until:
            raise ValueError("since must be before until")
        try:
            nr.check_edges(self.space_edges_m, "space")
            nr.check_edges(self.time_edges_days, "time")
        except GeomonError as exc:
            raise ValueError(str(exc)) from exc
        return self

    def pinned(self, now: datetime | None = None) -> NearRepeatParams:
        """The window and chain thresholds made explicit (default window: the year to now)."""
        now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        until = self.until or now
        since = self.since or until - timedelta(days=365)
        se = self.space_edges_m
        return self.model_copy(
            update={
                "since": since,
                "until": until,
                "chain_space_m": (
                    self.chain_space_m
                    if self.chain_space_m is not None
                    else se[1]
                    if len(se) > 1
                    else se[0]
                ),
                "chain_time_days": (
                    self.chain_time_days
                    if self.chain_time_days is not None
                    else self.time_edges_days[0]
                ),
            }
        )

    def stored(self) -> tuple[dict[str, Any], dict[str, Any]]:
        doc = self.model_dump(mode="json")
        return doc, {k: doc[k] for k in ("category", "agency", "since", "until")}


@dataclass
class Outcome:
    run_id: int
    n_incidents: int
    n_close_pairs: int
    n_chains: int
    duration_s: float


def cell_rows(k: nr.KnoxResult) -> list[dict[str, Any]]:
    se, te = k.space_edges, k.time_edges
    rows = []
    for s in range(len(se)):
        for t in range(len(te)):
            rows.append(
                {
                    "space_band": s,
                    "time_band": t,
                    "space_lo_m": float(se[s - 1]) if s else 0.0,
                    "space_hi_m": float(se[s]),
                    "time_lo_days": float(te[t - 1]) if t else 0.0,
                    "time_hi_days": float(te[t]),
                    "observed": int(k.observed[s, t]),
                    "expected": float(k.expected[s, t]),
                    "ratio": float(k.ratio[s, t]),
                    "p_value": float(k.p_value[s, t]),
                }
            )
    return rows


def chain_rows(inc: store.Incidents, ch: nr.Chains) -> list[dict[str, Any]]:
    out = []
    for c in range(ch.n_chains):
        members = np.flatnonzero(ch.label == c)
        sel = ch.label[ch.link_i] == c
        links = [
            ((float(inc.lon[a]), float(inc.lat[a])), (float(inc.lon[b]), float(inc.lat[b])))
            for a, b in zip(ch.link_i[sel], ch.link_j[sel], strict=True)
        ]
        t = inc.epoch_s[members]
        out.append(
            {
                "chain_id": c,
                "incident_ids": inc.ids[members].tolist(),
                "first_at": datetime.fromtimestamp(float(t.min()), UTC),
                "last_at": datetime.fromtimestamp(float(t.max()), UTC),
                "links": links,
            }
        )
    return out


def execute(conn: psycopg.Connection, run_id: int, p: NearRepeatParams) -> Outcome:
    """Compute and store run ``run_id`` (the caller commits)."""
    t0 = time.perf_counter()
    assert p.since is not None and p.until is not None
    assert p.chain_space_m is not None and p.chain_time_days is not None
    inc = store.load_incidents(
        conn, category=p.category, agency=p.agency, since=p.since, until=p.until
    )
    if len(inc) < 2:
        raise InvalidRequest("the window holds fewer than two located incidents")
    if len(inc) > MAX_INCIDENTS:
        raise InvalidRequest(f"at most {MAX_INCIDENTS} incidents per run (narrow the window)")
    crs = metric_crs_for_bbox(inc.lon.min(), inc.lat.min(), inc.lon.max(), inc.lat.max())
    wkt = crs.to_wkt()
    x, y = transform_xy(inc.lon, inc.lat, "EPSG:4326", wkt)
    days = (inc.epoch_s - inc.epoch_s.min()) / DAY_S
    k = nr.knox(
        x, y, days, p.space_edges_m, p.time_edges_days, permutations=p.permutations, seed=p.seed
    )
    ch = nr.chains(x, y, days, p.chain_space_m, p.chain_time_days)
    store.save_cells(conn, run_id, cell_rows(k))
    store.save_chains(conn, run_id, chain_rows(inc, ch))
    dt = time.perf_counter() - t0
    store.finish_run(
        conn, run_id, crs=wkt, n_incidents=len(inc), n_close_pairs=k.n_close_pairs,
        n_chains=ch.n_chains, duration_s=dt,
    )  # fmt: skip
    return Outcome(run_id, len(inc), k.n_close_pairs, ch.n_chains, dt)


def run(
    conn: psycopg.Connection,
    params: NearRepeatParams,
    *,
    created_by: str = "",
    agency_id: int | None = None,
) -> Outcome:
    p = params.pinned()
    doc, filt = p.stored()
    run_id = store.create_run(
        conn, params=doc, input_filter=filt, created_by=created_by, agency_id=agency_id
    )
    return execute(conn, run_id, p)


@dataclass(frozen=True)
class Caller:
    agency_id: int | None
    role: str
    user: str


def execute_queued(url: str, run_id: int, params: NearRepeatParams, *, caller: Caller) -> None:
    """Compute a queued run (created by the API) under the caller's row-level security."""

    def scoped(conn: psycopg.Connection) -> None:
        set_caller_context(conn, agency_id=caller.agency_id, role=caller.role, user=caller.user)

    with connect(url) as conn:
        scoped(conn)
        store.set_status(conn, run_id, "running")
        conn.commit()
        try:
            scoped(conn)
            execute(conn, run_id, params)
            conn.commit()
        except Exception as exc:  # recorded on the run: the API has already answered
            log.warning("near-repeat run %d failed: %s", run_id, exc)
            conn.rollback()
            scoped(conn)
            msg = (
                str(exc)
                if isinstance(exc, GeomonError)
                else f"internal error ({type(exc).__name__})"
            )
            store.fail_run(conn, run_id, msg)
            conn.commit()
