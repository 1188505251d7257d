"""``geomon hotspots run|list|show|rerun|delete`` against a real database (typer CliRunner)."""

from __future__ import annotations

import json
import re

import numpy as np
import psycopg
import pytest
from typer.testing import CliRunner

from geomon.cli.hotspots import app
from geomon.store.devices import ensure_agency

runner = CliRunner()


@pytest.fixture(scope="module")
def env(db_url: str, tmp_path_factory) -> dict[str, str]:
    rng = np.random.default_rng(2)
    with psycopg.connect(db_url) as conn:
        agency = ensure_agency(conn, "TJK-CLI")
        conn.execute(
            "INSERT INTO incidents (agency_id, category, occurred_at, geom) "
            "SELECT %s, 'hs-cli', timestamptz '2025-01-01' + (g %% 300) * interval '1 day', "
            "ST_SetSRID(ST_MakePoint(x, y), 4326) FROM unnest(%s::float8[], %s::float8[]) "
            "WITH ORDINALITY AS u(x, y, g)",
            (agency, rng.normal(68.8, 0.1, 300).tolist(), rng.normal(38.6, 0.1, 300).tolist()),
        )
    return {"GEOMON_DB__URL": db_url, "GEOMON_DATA_DIR": str(tmp_path_factory.mktemp("cli-data"))}


def _ok(args: list[str], env: dict[str, str]) -> str:
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_run_show_rerun_delete(env) -> None:
    out = _ok(
        [
            "run",
            "gistar",
            "--category",
            "hs-cli",
            "--agency",
            "TJK-CLI",
            "--bbox",
            "68,38,69.5,39.2",
            "--cell-size",
            "5000",
            "--distance-band",
            "12000",
            "--fdr",
            "--until",
            "2026-01-01T00:00:00Z",
            "--as",
            "analyst-x",
        ],
        env,
    )
    run_id = int(re.search(r"run (\d+) \(gistar\): 300 points", out).group(1))  # type: ignore
    assert "CRS EPSG:32642" in out
    shown = json.loads(_ok(["show", str(run_id)], env))
    assert shown["created_by"] == "analyst-x" and shown["input_filter"]["agency"] == "TJK-CLI"
    assert shown["params"]["distance_band"] == 12000 and shown["cells"]["gi_bin"]
    assert shown["agency_id"] is not None  # --agency owns the run: visible to that agency
    again = _ok(["rerun", str(run_id)], env)
    new_id = int(re.search(r"run (\d+) \(gistar\)", again).group(1))  # type: ignore
    listing = _ok(["list", "--kind", "gistar"], env)
    assert re.search(rf"^\s*{new_id} gistar\s+done\s+300", listing, re.M)
    assert f"deleted run {new_id}" in _ok(["delete", str(new_id)], env)
    gone = runner.invoke(app, ["show", str(new_id)], env=env)
    assert gone.exit_code == 1 and "no hotspot run" in gone.output


def test_bad_parameters_are_messages_not_tracebacks(env) -> None:
    for args in (
        ["run", "gistar", "--bbox", "1,2,3"],
        ["run", "gistar", "--country", "TJK", "--bbox", "68,38,69,39"],
        ["run", "gistar", "--border", "TJK-UZB"],
        ["run", "gistar", "--country", "XXX"],
        [
            "run",
            "ehsa",
            "--category",
            "hs-cli",
            "--bbox",
            "68,38,69.5,39.2",
            "--since",
            "2025-01-01",
            "--until",
            "2025-02-01",
        ],
    ):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code != 0 and "Traceback" not in result.output, args
        assert result.exception is None or isinstance(result.exception, SystemExit), args
