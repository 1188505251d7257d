"""``geomon cases import`` against a real database: CSV (UTF-8 and cp1251) and a GeoPackage
written by ``ogr2ogr``; idempotent re-import, a changed row updates with history, bad rows."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from geomon.cli.cases import app
from geomon.store.devices import ensure_agency

runner = CliRunner()
HEADER = "external_id,category,substance,quantity,unit,occurred_at,lon,lat,transit_countries,note"
ROWS = [
    "A-1,drug_seizure,heroin,1250,g,2026-11-20T08:30:00+06:00,72.8,40.5,TJK;UZB,Досмотр",
    "A-2,drug_seizure,cannabis_plants,340,plants,2026-11-21T10:00:00Z,73.0,40.6,,",
    "A-3,detention,,,,2026-11-22T10:00:00Z,72.9,40.55,,",
]


@pytest.fixture(scope="module")
def env(db_url: str) -> dict[str, str]:
    with psycopg.connect(db_url) as conn:
        ensure_agency(conn, "KGZ-CASES")
    return {"GEOMON_DB__URL": db_url}


def _run(args: list[str], env: dict[str, str], code: int = 0) -> str:
    result = runner.invoke(app, ["import", *args, "--agency", "KGZ-CASES"], env=env)
    assert result.exit_code == code, result.output
    return result.output


def _count(db_url: str, source: str) -> tuple[int, int]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*), (SELECT count(*) FROM case_history h JOIN cases c "
            "ON c.id = h.case_id WHERE c.source = %s) FROM cases WHERE source = %s",
            (source, source),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_csv_import_is_idempotent_and_updates_with_history(
    env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    f = tmp_path / "archive.csv"
    f.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    assert "3 created" in _run([str(f), "--source", "cli-dmp"], env)
    assert "3 unchanged" in _run([str(f), "--source", "cli-dmp"], env)
    assert _count(db_url, "cli-dmp") == (3, 3)
    f.write_text("\n".join([HEADER, ROWS[0].replace("1250", "1300"), *ROWS[1:]]) + "\n")
    assert "1 updated, 2 unchanged" in _run([str(f), "--source", "cli-dmp"], env)
    assert _count(db_url, "cli-dmp") == (3, 4)


def test_cp1251_is_detected(env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    f = tmp_path / "cp.csv"
    f.write_bytes(("\n".join([HEADER, *ROWS]) + "\n").encode("cp1251"))
    assert "3 created" in _run([str(f), "--source", "cp"], env)
    with psycopg.connect(db_url) as conn:
        note = conn.execute("SELECT note FROM cases WHERE source = 'cp' AND external_id = 'A-1'")
        assert note.fetchone() == ("Досмотр",)


def test_bad_rows_all_or_nothing_or_skipped(
    env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    f = tmp_path / "bad.csv"
    bad = [
        ROWS[0],
        "B-2,drug_seizure,kryptonite,1,kg,2026-11-21T10:00:00Z,73.0,40.6,,",
        "B-3,drug_seizure,heroin,-5,kg,2026-11-21T10:00:00Z,73.0,40.6,,",
        "B-4,detention,,,,2099-01-01T00:00:00Z,73.0,40.6,,",
    ]
    f.write_text("\n".join([HEADER, *bad]) + "\n")
    out = _run([str(f), "--source", "bad"], env, code=1)
    assert "bad.csv:3: unknown substance 'kryptonite'; accepted:" in out
    assert "bad.csv:4: quantity is negative" in out and "bad.csv:5: occurred_at is in" in out
    assert _count(db_url, "bad") == (0, 0)
    rejects = tmp_path / "rejects.csv"
    out = _run([str(f), "--source", "bad", "--skip-bad", "--rejects", str(rejects)], env)
    assert "1 created" in out and "3 rejected" in out
    assert rejects.read_text().splitlines()[1].startswith('3,"unknown substance')


def test_geopackage_written_by_gdal(env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    src = tmp_path / "cases.csv"
    src.write_text("\n".join([HEADER, *ROWS]) + "\n")
    gpkg = tmp_path / "cases.gpkg"
    if shutil.which("ogr2ogr"):
        subprocess.run(
            [
                "ogr2ogr",
                "-f",
                "GPKG",
                str(gpkg),
                str(src),
                "-oo",
                "X_POSSIBLE_NAMES=lon",
                "-oo",
                "Y_POSSIBLE_NAMES=lat",
                "-a_srs",
                "EPSG:4326",
                "-nln",
                "cases",
            ],
            check=True,
        )
    else:  # no gdal-bin here: write it with GDAL through pyogrio (its bundled libgdal)
        import pyogrio

        frame = pyogrio.read_dataframe(
            src, X_POSSIBLE_NAMES="lon", Y_POSSIBLE_NAMES="lat", KEEP_GEOM_COLUMNS="NO"
        )
        frame = frame.set_crs(4326)
        pyogrio.write_dataframe(frame, gpkg, layer="cases", driver="GPKG")
    assert "3 created" in _run([str(gpkg), "--source", "gpkg"], env)
    assert "3 unchanged" in _run([str(gpkg), "--source", "gpkg"], env)
    assert _count(db_url, "gpkg") == (3, 3)
