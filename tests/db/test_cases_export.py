"""Cases written as GeoPackage/KML/CSV/FlatGeobuf by GDAL read back by GDAL (pyogrio; the
``ogrinfo`` binary is not installed here) and re-import into geomon unchanged."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pyogrio
import pytest
from typer.testing import CliRunner

from geomon.cli.cases import app
from geomon.exchange import files
from geomon.store.devices import ensure_agency

runner = CliRunner()
CSV = (
    "external_id,category,substance,quantity,unit,occurred_at,lon,lat\n"
    "E-1,drug_seizure,heroin,1250,g,2026-11-20T08:30:00+06:00,72.8,40.5\n"
    "E-2,drug_seizure,cannabis_plants,340,plants,2026-11-21T10:00:00Z,73.0,40.6\n"
)


@pytest.fixture(scope="module")
def seeded(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> int:
    with psycopg.connect(db_url) as conn:
        agency = ensure_agency(conn, "KGZ-EXPORT")
    src = tmp_path_factory.mktemp("exp") / "seed.csv"
    src.write_text(CSV)
    env = {"GEOMON_DB__URL": db_url}
    r = runner.invoke(app, ["import", str(src), "--agency", "KGZ-EXPORT", "--source", "x"], env=env)
    assert r.exit_code == 0, r.output
    return agency


@pytest.mark.parametrize("fmt", ["gpkg", "kml", "csv", "fgb"])
def test_export_reads_back_with_gdal(db_url: str, seeded: int, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"cases.{fmt}"
    with psycopg.connect(db_url) as conn:
        assert files.write_cases(conn, out, fmt, agency_id=seeded) == 2
    info = pyogrio.read_info(out)
    assert info["features"] == 2
    frame = pyogrio.read_dataframe(out)
    if fmt != "kml":  # KML keeps name/description only (plus extended data in LIBKML)
        assert sorted(frame["external_id"]) == ["E-1", "E-2"]
        kg = frame.loc[frame["external_id"] == "E-1", "quantity_kg"].astype(float).iloc[0]
        assert kg == pytest.approx(1.25)
    assert sorted(frame.geometry.x) == pytest.approx([72.8, 73.0])


def test_geopackage_round_trip_changes_nothing(db_url: str, seeded: int, tmp_path: Path) -> None:
    out = tmp_path / "round.gpkg"
    r = runner.invoke(
        app, ["export", str(out), "--agency", "KGZ-EXPORT"], env={"GEOMON_DB__URL": db_url}
    )
    assert r.exit_code == 0 and "wrote 2 cases" in r.output, r.output
    r = runner.invoke(
        app,
        ["import", str(out), "--agency", "KGZ-EXPORT", "--source", "x"],
        env={"GEOMON_DB__URL": db_url},
    )
    assert r.exit_code == 0, r.output
    assert "0 created, 0 updated, 2 unchanged" in r.output
