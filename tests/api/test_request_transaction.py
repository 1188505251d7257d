"""The request transaction of api/deps.py (BEGIN and the RLS context in one round trip):
commits what a route wrote when it returns, rolls it back when it raises, and hands the pooled
connection back in its usual non-autocommit mode."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fastapi import HTTPException, Request
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import Caller, WriteConn, scoped_transaction
from geomon.settings import DbSettings, Settings
from tests.helpers.auth import make_user

INSERT = (
    "INSERT INTO incidents (agency_id, category, occurred_at, geom, source) VALUES "
    "(current_setting('geomon.agency_id')::int, 'seizure', now(), "
    "ST_SetSRID(ST_MakePoint(70, 40), 4326), %s)"
)


@pytest.fixture(scope="module")
def client(db_url: str, app_db_url: str) -> Iterator[TestClient]:
    app = create_app(
        Settings(db=DbSettings(url=db_url, app_url=app_db_url, pool_min=1, pool_max=1))
    )  # one connection: reused each time

    @app.post("/api/v1/test-write")
    async def write(conn: WriteConn, source: str, fail: bool = False) -> dict[str, str]:
        await conn.execute(INSERT, (source,))
        if fail:
            raise HTTPException(409, "refused after the insert")
        return {"status": str(conn.info.transaction_status)}

    @app.get("/api/v1/test-state")
    async def state(conn: WriteConn) -> dict[str, object]:
        cur = await conn.execute(
            "SELECT current_setting('geomon.role'), now() = statement_timestamp()"
        )
        role, _ = await cur.fetchone()  # type: ignore[misc]
        return {"role": role, "in_transaction": conn.info.transaction_status == 2}

    @app.get("/api/v1/test-first")
    async def first(request: Request, principal: Caller) -> dict[str, object]:
        async with scoped_transaction(
            request, principal, "SELECT current_setting('geomon.role'), %s::text", ("it's quoted",)
        ) as (conn, rows):
            cur = await conn.execute(
                "SELECT pg_current_xact_id_if_assigned() IS NULL, current_setting('geomon.role')"
            )
            same = await cur.fetchone()
        return {"first": list(rows[0]), "later": list(same)}  # type: ignore[arg-type]

    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {make_user(db_url, role='analyst')[2]}"
        yield c


def _stored(db_url: str, source: str) -> int:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM incidents WHERE source = %s", (source,)
        ).fetchone()[0]  # type: ignore[index]


def test_a_route_that_returns_commits_and_one_that_raises_rolls_back(
    client: TestClient, db_url: str
) -> None:
    ok, failed = uuid.uuid4().hex, uuid.uuid4().hex
    assert client.post("/api/v1/test-write", params={"source": ok}).status_code == 200
    assert (
        client.post("/api/v1/test-write", params={"source": failed, "fail": True}).status_code
        == 409
    )
    assert _stored(db_url, ok) == 1 and _stored(db_url, failed) == 0


def test_the_pooled_connection_comes_back_as_it_went(client: TestClient) -> None:
    for _ in range(3):  # the same single pooled connection each time
        assert client.get("/api/v1/test-state").json() == {
            "role": "analyst",
            "in_transaction": True,
        }
    pool = client.app.state.app_pool  # type: ignore[attr-defined]

    async def check() -> tuple[bool, object]:
        async with pool.connection() as conn:
            return conn.autocommit, conn.info.transaction_status

    assert client.portal.call(check) == (False, psycopg.pq.TransactionStatus.IDLE)


def test_a_first_query_runs_in_the_same_round_trip_and_transaction(client: TestClient) -> None:
    # the first query already sees the RLS context set in the same simple-protocol message,
    # and its parameters are bound as quoted literals
    assert client.get("/api/v1/test-first").json() == {
        "first": ["analyst", "it's quoted"],
        "later": [True, "analyst"],
    }
