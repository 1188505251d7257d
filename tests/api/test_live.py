"""The live stream over a real HTTP server (uvicorn on a free port) and a real PostGIS: a
snapshot on connect, then a fix committed by the batch writer's SQL within a second."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
import uvicorn

from api.app import create_app
from geomon.model import Position
from geomon.settings import DbSettings, Settings
from geomon.store.positions import stage_row, write_positions
from tests.api.seed import Seed, auth_headers
from tests.conftest import free_port


@pytest.fixture(scope="module")
def server(db_url: str, seed: Seed) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(Settings(db=DbSettings(url=db_url))),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict]]:
    """(event name, JSON data) for each SSE event; comments (keep-alives) are skipped."""
    name, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def _commit_fix(db_url: str, device_id: int, lon: float, lat: float) -> float:
    async def go() -> float:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            p = Position("x", datetime.now(UTC), lat, lon, speed_mps=3.0)
            await write_positions(conn, [stage_row(device_id, p, datetime.now(UTC))])
            await conn.commit()
            return time.monotonic()

    return asyncio.run(go())


def test_snapshot_then_committed_fix_within_a_second(server: str, db_url: str, seed: Seed) -> None:
    headers = auth_headers(db_url, role="viewer", agency="KGZ-BS")
    dev, other = seed.devices["kg-1"], seed.devices["tj-1"]
    with (
        httpx.Client(base_url=server, headers=headers, timeout=10) as client,
        client.stream("GET", "/api/v1/live") as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = _events(r.iter_lines())
        name, snap = next(events)
        ids = {f["id"] for f in snap["features"]}
        assert name == "snapshot" and dev in ids and other not in ids  # other agency hidden
        committed: list[float] = []
        writer = threading.Thread(
            target=lambda: committed.extend(
                [_commit_fix(db_url, other, 69.1, 38.6), _commit_fix(db_url, dev, 74.9, 42.9)]
            )
        )
        writer.start()
        name, body = next(events)
        received = time.monotonic()
        writer.join()
        assert name == "positions"
        assert [f["id"] for f in body["features"]] == [dev]  # tj-1's fix never reaches us
        assert body["features"][0]["geometry"]["coordinates"] == [74.9, 42.9]
        assert received - committed[1] < 1.0
        with psycopg.connect(db_url) as conn:  # an event writer: row + NOTIFY, one transaction
            eid = conn.execute(
                "INSERT INTO events (agency_id, device_id, kind, occurred_at, geom) VALUES "
                "(%s, %s, 'overspeed', now(), ST_SetSRID(ST_MakePoint(74.9, 42.9), 4326)) "
                "RETURNING id",
                (seed.agency_a, dev),
            ).fetchone()[0]
            conn.execute("SELECT pg_notify('geomon_events', %s)", (json.dumps({"events": [eid]}),))
        name, body = next(events)
        assert name == "events" and body["features"][0]["id"] == eid
        assert body["features"][0]["properties"]["kind"] == "overspeed"


def test_bbox_filters_and_rejects_bad_bbox(server: str, db_url: str, seed: Seed) -> None:
    headers = auth_headers(db_url, role="admin", agency="KGZ-BS")
    with httpx.Client(base_url=server, headers=headers, timeout=10) as client:
        assert client.get("/api/v1/live", params={"bbox": "80,40,70,30"}).status_code == 422
        with client.stream("GET", "/api/v1/live", params={"bbox": "72,39,74,41"}) as r:
            name, snap = next(_events(r.iter_lines()))
            assert [f["id"] for f in snap["features"]] == [seed.devices["kg-2"]]
        assert (
            client.get("/api/v1/live", headers={"Authorization": "Bearer nope"}).status_code == 401
        )
