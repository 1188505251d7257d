"""Stored near-repeat runs on PostGIS: planted near repeats → Knox table and chains → store,
checked against a direct count with permutations written here; RLS; the CLI."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
from pyproj import Transformer
from typer.testing import CliRunner

from geomon.analysis import near_repeat as service
from geomon.store import near_repeat as store
from geomon.store.devices import ensure_agency
from geomon.store.hotspots import set_caller_context

pytestmark = pytest.mark.db
OWN, OTHER = "NRPT", "NRPT-X"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
SPACE, TIME = [0.0, 300.0, 1000.0], [3.0, 10.0]


def _direct(x, y, t, perms: int, seed: int):
    """Every pair by brute force; the same permutation stream as the documented method."""
    n = len(x)
    iu = np.triu_indices(n, 1)
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])[iu]

    def table(tt):
        dt = np.abs(tt[:, None] - tt[None, :])[iu]
        out = np.zeros((len(SPACE), len(TIME)), dtype=np.int64)
        for s in range(len(SPACE)):
            lo = SPACE[s - 1] if s else -1.0
            for k in range(len(TIME)):
                tlo = TIME[k - 1] if k else -1.0
                out[s, k] = np.sum((d > lo) & (d <= SPACE[s]) & (dt > tlo) & (dt <= TIME[k]))
        return out

    obs = table(t)
    rng = np.random.default_rng(seed)
    sims = np.array([table(t[rng.permutation(n)]) for _ in range(perms)])
    return obs, sims.mean(axis=0), ((sims >= obs).sum(axis=0) + 1) / (perms + 1)


@pytest.fixture(scope="module")
def world(db_url: str) -> Iterator[dict]:
    cat = f"nr-{uuid.uuid4().hex[:8]}"
    rng = np.random.default_rng(5)
    rows = []
    with psycopg.connect(db_url) as conn:
        own, other = ensure_agency(conn, OWN), ensure_agency(conn, OTHER)
        # background: 150 incidents over ~40 x 40 km and a year
        for _ in range(150):
            rows.append((own, 69.0 + rng.uniform(0, 0.5), 38.5 + rng.uniform(0, 0.35),
                         rng.uniform(0, 365)))  # fmt: skip
        # 6 planted near-repeat bursts: 5 incidents within ~150 m and 2 days each
        for b in range(6):
            lon, lat, day = 69.05 + 0.07 * b, 38.6 + 0.04 * b, 20.0 + 50 * b
            for _ in range(5):
                rows.append((own, lon + rng.normal(0, 0.0008), lat + rng.normal(0, 0.0008),
                             day + rng.uniform(0, 2)))  # fmt: skip
        conn.cursor().executemany(
            "INSERT INTO incidents (agency_id, category, occurred_at, geom, source) VALUES "
            "(%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), 'near-repeat-test')",
            [(a, cat, T0 + timedelta(days=d), x, y) for a, x, y, d in rows],
        )
        # another agency's incidents inside the same area: not ours to analyse under RLS
        conn.execute(
            "INSERT INTO incidents (agency_id, category, occurred_at, geom) VALUES "
            "(%s, %s, %s, ST_SetSRID(ST_MakePoint(69.2, 38.7), 4326))",
            (other, cat, T0 + timedelta(days=5)),
        )
        conn.commit()
        params = service.NearRepeatParams(
            category=cat, agency=OWN, since=T0, until=T0 + timedelta(days=366),
            space_edges_m=SPACE, time_edges_days=TIME, permutations=99, seed=7,
        )  # fmt: skip
        out = service.run(conn, params, created_by="test", agency_id=own)
        conn.commit()
    yield {"cat": cat, "own": own, "other": other, "out": out, "n": len(rows)}


def test_knox_table_matches_a_direct_count_with_the_same_permutations(world, conn) -> None:
    out = world["out"]
    run = store.get_run(conn, out.run_id)
    assert run["status"] == "done" and run["n_incidents"] == world["n"]
    inc = store.load_incidents(
        conn, category=world["cat"], agency=OWN, since=T0, until=T0 + timedelta(days=366)
    )
    x, y = Transformer.from_crs("EPSG:4326", run["crs"], always_xy=True).transform(inc.lon, inc.lat)
    t = (inc.epoch_s - inc.epoch_s.min()) / 86400
    obs, exp, p = _direct(np.asarray(x), np.asarray(y), t, 99, 7)
    cells = store.read_cells(conn, out.run_id)
    assert len(cells) == len(SPACE) * len(TIME)
    got_obs = np.array([c["observed"] for c in cells]).reshape(obs.shape)
    got_exp = np.array([c["expected"] for c in cells]).reshape(obs.shape)
    got_p = np.array([c["p_value"] for c in cells]).reshape(obs.shape)
    np.testing.assert_array_equal(got_obs, obs)
    np.testing.assert_allclose(got_exp, exp, rtol=1e-12)
    np.testing.assert_allclose(got_p, p, rtol=1e-12)
    # the planted bursts: close in space and time far above expectation, significant
    near = cells[len(TIME)]  # (0, 300] m x [0, 3] days
    assert near["space_hi_m"] == 300 and near["time_hi_days"] == 3
    assert near["observed"] >= 6 * 10 * 0.8 and near["ratio"] > 5 and near["p_value"] <= 0.02


def test_chains_are_the_planted_bursts(world, conn) -> None:
    chains = store.read_chains(conn, world["out"].run_id)
    assert world["out"].n_chains == len(chains)
    big = [c for c in chains if c["n_incidents"] >= 4]
    assert len(big) == 6  # every burst (5 incidents each), a stray neighbour may join
    for c in big:
        assert (c["last_at"] - c["first_at"]) <= timedelta(days=2, hours=1)
    geo = conn.execute(
        "SELECT ST_GeometryType(geom), ST_NumGeometries(geom) FROM near_repeat_chains "
        "WHERE run_id = %s AND chain_id = %s",
        (world["out"].run_id, big[0]["chain_id"]),
    ).fetchone()
    assert geo[0] == "ST_MultiLineString" and geo[1] >= big[0]["n_incidents"] - 1


def test_runs_cells_and_chains_are_invisible_to_another_agency(world, conn) -> None:
    rid = world["out"].run_id
    set_caller_context(conn, agency_id=world["other"], role="analyst", user="x")
    for table in ("near_repeat_runs", "near_repeat_cells", "near_repeat_chains"):
        col = "id" if table == "near_repeat_runs" else "run_id"
        n = conn.execute(f"SELECT count(*) FROM {table} WHERE {col} = %s", (rid,)).fetchone()
        assert n[0] == 0, table
    conn.rollback()
    set_caller_context(conn, agency_id=world["own"], role="analyst", user="y")
    assert conn.execute(
        "SELECT count(*) FROM near_repeat_cells WHERE run_id = %s", (rid,)
    ).fetchone()[0] == len(SPACE) * len(TIME)
    conn.rollback()


def test_cli_run_and_show(world, db_url, monkeypatch) -> None:
    from geomon.cli.near_repeat import app

    monkeypatch.setenv("GEOMON_DB__URL", db_url)
    r = CliRunner().invoke(
        app,
        ["run", "--category", world["cat"], "--agency", OWN,
         "--since", "2025-01-01T00:00:00Z", "--until", "2026-01-02T00:00:00Z",
         "--space", "0,300,1000", "--time", "3,10", "--permutations", "19"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"{world['n']} incidents" in r.output
    rid = int(r.output.split()[2].rstrip(":"))
    shown = CliRunner().invoke(app, ["show", str(rid)])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.output)
    assert doc["params"]["permutations"] == 19 and len(doc["knox"]) == 6
    assert len(doc["chains"]) >= 6
    bad = CliRunner().invoke(app, ["run", "--space", "500,100"])
    assert bad.exit_code != 0 and "increasing" in bad.output
