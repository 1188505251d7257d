"""Stored forecast runs: incidents along AFG-TJK with a planted June peak → sectors → store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import psycopg
import pytest
import shapely
from typer.testing import CliRunner

from geomon.analysis import forecasts as service
from geomon.errors import InvalidRequest
from geomon.store import forecasts as store
from geomon.store.devices import ensure_agency
from geomon.store.hotspots import set_caller_context

pytestmark = pytest.mark.db
OWN = "FCST"
SINCE, UNTIL = datetime(2016, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(db_url: str) -> Iterator[dict]:
    tag = uuid.uuid4().hex[:8]
    cat = f"fc-{tag}"
    rng = np.random.default_rng(3)
    with psycopg.connect(db_url) as conn:
        agency = ensure_agency(conn, OWN)
        wkb = conn.execute("SELECT ST_AsBinary(geom) FROM borders WHERE code = 'AFG-TJK'")
        line = shapely.line_merge(shapely.from_wkb(bytes(wkb.fetchone()[0])))
        part = max(getattr(line, "geoms", [line]), key=lambda g: g.length)
        # 4 hot spots along the border: June peak, ~8 a month off-season
        spots = [part.interpolate(f, normalized=True) for f in (0.1, 0.35, 0.6, 0.85)]
        rows = []
        for k in range(120):
            t = datetime(2016 + k // 12, k % 12 + 1, 10, tzinfo=UTC)
            month = k % 12
            for s in spots:
                mu = 8 * (1 + 3 * np.exp(-0.5 * ((month - 5) / 1.0) ** 2))
                for _ in range(rng.poisson(mu)):
                    rows.append((agency, cat, t, s.x + rng.normal(0, 0.01), s.y))
        conn.cursor().executemany(
            "INSERT INTO incidents (agency_id, category, occurred_at, geom, source) VALUES "
            "(%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), 'forecast-test')",
            rows,
        )
        conn.commit()
        params = service.ForecastRunParams(
            border="AFG-TJK", sector_km=25, buffer_km=5, category=cat, since=SINCE, until=UNTIL
        )
        out = service.run(conn, params, created_by="test", agency_id=agency)
        conn.commit()
    yield {"cat": cat, "agency": agency, "out": out, "params": params, "n": len(rows)}


def test_run_stores_sectors_with_the_planted_peak(world: dict, conn) -> None:
    out = world["out"]
    assert out.n_steps == 120 and out.n_events == world["n"]
    run = store.get_run(conn, out.run_id)
    assert run["status"] == "done" and run["step"] == "month"
    assert run["params"]["since"].startswith("2016-01-01")
    cells = store.read_cells(conn, out.run_id)
    assert len(cells) == out.n_locations > 4
    ok = [c for c in cells if c["status"] == "ok"]
    assert len(ok) >= 4
    # every planted sector peaks in June (season position 5) and is trusted
    hot = sorted(ok, key=lambda c: -sum(v or 0 for v in c["series"]["history"]))[:4]
    assert [c["peak_pos"] for c in hot] == [5, 5, 5, 5]
    assert all(c["trusted"] for c in hot)
    # empty sectors are flagged, with no forecast
    empty = [c for c in cells if c["status"] == "no_data"]
    assert empty and all(c["expected_next"] is None for c in empty)
    assert all(not c["trusted"] for c in empty)
    geoms = conn.execute(
        "SELECT DISTINCT GeometryType(geom), ST_SRID(geom) FROM forecast_cells WHERE run_id = %s",
        (out.run_id,),
    ).fetchall()
    assert geoms == [("POLYGON", 4326)]


def test_rerun_reproduces(world: dict, conn) -> None:
    again = service.rerun(conn, world["out"].run_id)
    conn.commit()
    a = store.read_cells(conn, world["out"].run_id)
    b = store.read_cells(conn, again.run_id)
    assert [c["expected_next"] for c in a] == [c["expected_next"] for c in b]


@pytest.mark.parametrize(
    "update,match",
    [
        ({"since": datetime(2016, 1, 15, tzinfo=UTC)}, "whole months"),
        ({"since": datetime(2024, 1, 1, tzinfo=UTC)}, "too few"),
        ({"step": "week"}, "Monday"),
    ],
)
def test_bad_windows_are_refused(world: dict, conn, update, match) -> None:
    p = world["params"].model_copy(update=update)
    with pytest.raises(InvalidRequest, match=match):
        service.run(conn, p)
    conn.rollback()


def test_a_window_without_incidents_is_an_error(world: dict, conn) -> None:
    p = world["params"].model_copy(update={"category": "nothing-like-this"})
    with pytest.raises(InvalidRequest, match="no incidents"):
        service.run(conn, p)
    conn.rollback()


def test_other_agencies_do_not_see_the_run(world: dict, app_db_url: str) -> None:
    with psycopg.connect(app_db_url) as c:
        set_caller_context(c, agency_id=world["agency"], role="viewer", user="v")
        assert store.get_run(c, world["out"].run_id)["id"] == world["out"].run_id
        c.rollback()
        set_caller_context(c, agency_id=999_999, role="viewer", user="v")
        with pytest.raises(Exception, match="no forecast run"):
            store.get_run(c, world["out"].run_id)
        n = c.execute(
            "SELECT count(*) FROM forecast_cells WHERE run_id = %s", (world["out"].run_id,)
        ).fetchone()
        assert n == (0,)


def test_cli_show(world: dict, db_url: str, monkeypatch) -> None:
    from geomon.cli.forecasts import app

    monkeypatch.setenv("GEOMON_DB__URL", db_url)
    res = CliRunner().invoke(app, ["show", str(world["out"].run_id)])
    assert res.exit_code == 0, res.output
    assert '"status": "done"' in res.output and '"top"' in res.output
    res = CliRunner().invoke(app, ["rerun", "999999"])
    assert res.exit_code == 1 and "no forecast run" in res.output


def test_too_many_locations_is_an_error_before_the_engine(world: dict, conn, monkeypatch) -> None:
    monkeypatch.setattr(service, "MAX_LOCATIONS", 10)
    with pytest.raises(InvalidRequest, match="at most 10 are forecast in one run"):
        service.run(conn, world["params"])
    conn.rollback()


def test_cli_counts_cases_by_substance(world: dict, db_url: str, monkeypatch) -> None:
    from geomon.cli.forecasts import app

    monkeypatch.setenv("GEOMON_DB__URL", db_url)
    common = ["--border", "AFG-TJK", "--since", "2016-01-01T00:00:00Z", "--until",
              "2026-01-01T00:00:00Z"]  # fmt: skip
    res = CliRunner().invoke(app, ["run", *common, "--substance", "heroin"])
    assert res.exit_code == 1 and "needs layer 'cases'" in res.output, res.output
    res = CliRunner().invoke(app, ["run", *common, "--layer", "cases", "--substance", "cocaine"])
    assert res.exit_code == 1 and "holds no cases at these locations" in res.output, res.output
