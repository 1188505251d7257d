"""Audit group commit (api/audit_writer.py) against the real PostGIS: concurrent rows share a
transaction, each row is committed before its response starts, and reads fail closed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.audit_writer import AuditWriter
from geomon.settings import DbSettings, Settings
from geomon.store.audit import AuditEntry
from tests.helpers.auth import make_user


def _rows(db_url: str, marker: str) -> list[tuple[int, str]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT xmin::text::bigint, path FROM audit_log WHERE path LIKE %s", (f"%{marker}%",)
        ).fetchall()


def test_concurrent_rows_are_committed_together(db_url: str, app_db_url: str) -> None:
    marker = uuid.uuid4().hex

    async def run() -> tuple[int, int]:
        writer = AuditWriter(app_db_url)  # the app role: INSERT is all it may do there
        try:
            await asyncio.gather(
                *(
                    writer.write(
                        AuditEntry(method="GET", route="/t", path=f"/t/{marker}/{i}", status=200)
                    )
                    for i in range(30)
                )
            )
            return writer.batches, writer.rows
        finally:
            await writer.close()

    batches, rows = asyncio.run(run())
    found = _rows(db_url, marker)
    assert rows == 30 and len(found) == 30  # every write returned after its row was committed
    # a handful of transactions, not 30 (the writer thread may take the first rows alone)
    assert batches <= 5 and len({xid for xid, _ in found}) == batches


def test_hostile_parameters_are_stored_escaped(db_url: str, app_db_url: str) -> None:
    """A NUL, a lone surrogate or NaN in what a client sent never fails the audit insert."""
    marker = uuid.uuid4().hex

    async def run() -> None:
        writer = AuditWriter(app_db_url)
        try:
            await writer.write(
                AuditEntry(
                    method="GET",
                    route="/t",
                    path=f"/t/{marker}/a\x00b\ud800",
                    status=200,
                    params={"kind": "\x00", "x": float("nan"), "k\x00": [float("inf")]},
                )
            )
        finally:
            await writer.close()

    asyncio.run(run())
    with psycopg.connect(db_url) as conn:
        path, params = conn.execute(
            "SELECT path, params FROM audit_log WHERE path LIKE %s", (f"%{marker}%",)
        ).fetchone()
    assert path.endswith("a\ufffdb\ufffd")
    assert params == {"kind": "\ufffd", "x": "nan", "k\ufffd": ["inf"]}


def test_one_refused_row_fails_only_its_own_writer(db_url: str, app_db_url: str) -> None:
    """A batch the server refuses is retried row by row: only the bad row's read fails."""
    marker = uuid.uuid4().hex

    async def run() -> list[BaseException | None]:
        writer = AuditWriter(app_db_url)
        try:
            entries = [
                AuditEntry(method="GET", route="/t", path=f"/t/{marker}/{i}", status=200)
                for i in range(20)
            ]
            entries[7].status = 2**40  # out of the column's integer range: a DataError
            return await asyncio.gather(*(writer.write(e) for e in entries), return_exceptions=True)
        finally:
            await writer.close()

    outcomes = asyncio.run(run())
    assert isinstance(outcomes[7], psycopg.DataError)
    assert [o for i, o in enumerate(outcomes) if i != 7] == [None] * 19
    assert len(_rows(db_url, marker)) == 19


def test_a_failed_batch_fails_its_writers(db_url: str) -> None:
    async def run() -> None:
        writer = AuditWriter("postgresql://nobody@127.0.0.1:1/none", timeout_s=2)
        try:
            with pytest.raises(Exception):  # noqa: B017 - connection refused, whatever its class
                await writer.write(AuditEntry(method="GET", route="/t", path="/t", status=200))
        finally:
            await writer.close()

    asyncio.run(run())


@pytest.fixture(scope="module")
def client(db_url: str, app_db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(db=DbSettings(url=db_url, app_url=app_db_url)))
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {make_user(db_url, role='analyst')[2]}"
        yield c


def test_each_audited_read_is_committed_before_its_response(
    client: TestClient, db_url: str
) -> None:
    for i in range(3):
        resp = client.get(
            "/ogc/collections/positions-latest/items", params={"limit": i + 1, "bbox": "0,0,1,1"}
        )
        assert resp.status_code == 200
        with psycopg.connect(db_url) as conn:  # another session sees the row at once
            n = conn.execute(
                "SELECT count(*) FROM audit_log WHERE params->>'limit' = %s "
                "AND route = '/ogc/collections/{collectionId}/items' "
                "AND at > now() - interval '1 minute'",
                (str(i + 1),),
            ).fetchone()[0]
        assert n >= 1


def test_reads_fail_closed_when_the_audit_writer_is_unreachable(client: TestClient) -> None:
    app = client.app
    working = app.state.audit_writer
    app.state.audit_writer = AuditWriter("postgresql://nobody@127.0.0.1:1/none", timeout_s=1)
    try:  # a REST read of positions: its row goes through the writer
        assert client.get("/api/v1/devices/latest").status_code == 503
        assert client.get("/ogc/collections/places/items").status_code == 200  # not audited
    finally:
        client.portal.call(app.state.audit_writer.close)
        app.state.audit_writer = working
    assert client.get("/api/v1/devices/latest").status_code == 200


def test_reads_fail_closed_when_their_own_transaction_cannot_write_the_row(
    client: TestClient, db_url: str
) -> None:
    # tiles and OGC pages insert the row in their own read transaction and commit it
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("REVOKE INSERT ON audit_log FROM geomon_app")
    try:
        assert client.get("/ogc/collections/positions-latest/items").status_code == 503
        assert client.get("/tiles/tracks/8/179/96.mvt").status_code == 503
        assert client.get("/ogc/collections/places/items").status_code == 200  # not audited
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("GRANT INSERT ON audit_log TO geomon_app")
    assert client.get("/ogc/collections/positions-latest/items").status_code == 200
