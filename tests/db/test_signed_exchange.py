"""Signed GeoPackage exchange between two instances (two databases): export on one, verify
and import on the other with provenance; re-import changes nothing; a changed row, an edited
manifest, an untrusted or revoked key are refused whole. GDAL's own ``ogrinfo`` opens the file."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from geomon.cli.cases import app as cases_app
from geomon.cli.exchange import app as exchange_app
from geomon.store.devices import ensure_agency
from tests.conftest import create_database, drop_database, prepare_database

runner = CliRunner()
CSV = (
    "external_id,category,substance,quantity,unit,occurred_at,lon,lat\n"
    "E-1,drug_seizure,heroin,1250,g,2026-11-20T08:30:00+06:00,71.5,37.5\n"
    "E-2,drug_seizure,cannabis_plants,340,plants,2026-11-21T10:00:00Z,71.6,37.6\n"
    "E-3,drug_seizure,opium,2,kg,2026-11-22T10:00:00Z,71.7,37.4\n"
    "E-0,drug_seizure,opium,1,kg,2026-10-15T10:00:00Z,71.7,37.4\n"  # before the window
)
WINDOW = ["--since", "2026-11-01T00:00:00Z", "--until", "2026-12-01T00:00:00Z"]


@pytest.fixture(scope="module")
def two(pg_base_url: str) -> Iterator[tuple[str, str]]:
    a = create_database(pg_base_url, "geomon_xa")
    b = create_database(pg_base_url, "geomon_xb")
    try:
        prepare_database(a)
        prepare_database(b)
        yield a, b
    finally:
        drop_database(pg_base_url, a)
        drop_database(pg_base_url, b)


APPS = {"cases": cases_app, "exchange": exchange_app}


def cli(url: str, group: str, *args: str) -> tuple[int, str]:
    r = runner.invoke(APPS[group], list(args), env={"GEOMON_DB__URL": url})
    return r.exit_code, r.output


def counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM exchange_packages), (SELECT count(*) FROM cases "
            "WHERE source = 'x:TJK-EXP'), (SELECT count(*) FROM exchange_events)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


@pytest.fixture(scope="module")
def exported(two: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    a, b = two
    tmp = tmp_path_factory.mktemp("xchg")
    with psycopg.connect(a) as conn:
        aid = ensure_agency(conn, "TJK-EXP")
        conn.execute(
            "INSERT INTO events (agency_id, kind, severity, occurred_at, geom, event_key, attrs) "
            "VALUES (%s, 'border_cross', 'critical', '2026-11-20T04:00:00Z', "
            "ST_SetSRID(ST_MakePoint(71.45, 37.3), 4326), 'border_cross:x:1', "
            '\'{"border": "AFG-TJK"}\'), '
            "(%s, 'sensor_alarm', 'warning', '2026-11-21T05:00:00Z', NULL, 'sensor_alarm:x:2', "
            "'{}'), (%s, 'silent', 'warning', '2026-10-21T05:00:00Z', NULL, 'silent:x:3', '{}')",
            (aid, aid, aid),
        )
    with psycopg.connect(b) as conn:
        ensure_agency(conn, "KGZ-IMP")
    (tmp / "seed.csv").write_text(CSV)
    rc, out = cli(
        a, "cases", "import", str(tmp / "seed.csv"), "--agency", "TJK-EXP", "--source", "x"
    )
    assert rc == 0, out
    rc, out = cli(a, "exchange", "keygen", "--out", str(tmp / "key.pem"))
    assert rc == 0, out
    public = re.search(r"public key \(give it to partners\): (\S+)", out)
    assert public, out
    assert (tmp / "key.pem").stat().st_mode & 0o777 == 0o600
    pkg = tmp / "week.gpkg"
    rc, out = cli(
        a, "exchange", "export", "--agency", "TJK-EXP", "--key", str(tmp / "key.pem"),
        *WINDOW, "--out", str(pkg),
    )  # fmt: skip
    assert rc == 0, out
    assert "cases: 3" in out and "events: 2" in out, out  # October's case and event are not
    return {"tmp": tmp, "pkg": pkg, "public": public.group(1), "a": a, "b": b}


def test_gdal_opens_the_package(exported: dict[str, object]) -> None:
    out = subprocess.run(
        ["ogrinfo", "-ro", "-q", str(exported["pkg"])], capture_output=True, text=True, check=True
    ).stdout
    for layer in ("cases", "events", "geomon_exchange"):
        assert layer in out, out


def test_untrusted_then_trusted_then_idempotent(exported: dict[str, object]) -> None:
    b, pkg = str(exported["b"]), str(exported["pkg"])
    rc, out = cli(b, "exchange", "import", pkg, "--agency", "KGZ-IMP")
    assert rc != 0 and "not trusted" in out, out
    assert counts(b) == (0, 0, 0)
    rc, out = cli(
        b, "exchange", "trust", "add", "--agency", "KGZ-IMP", "--partner", "TJK-EXP",
        "--key", str(exported["public"]),
    )  # fmt: skip
    assert rc == 0, out
    rc, out = cli(b, "exchange", "verify", pkg, "--agency", "KGZ-IMP")
    assert rc == 0 and "valid: signed by TJK-EXP" in out, out
    assert counts(b) == (0, 0, 0)  # verify writes nothing
    rc, out = cli(b, "exchange", "import", pkg, "--agency", "KGZ-IMP", "--by", "analyst-b")
    assert rc == 0, out
    assert "cases new 3" in out and "events new 2" in out, out
    assert counts(b) == (1, 3, 2)
    with psycopg.connect(b) as conn:
        ext = sorted(r[0] for r in conn.execute("SELECT external_id FROM cases").fetchall())
        assert ext == ["x/E-1", "x/E-2", "x/E-3"]
        kg = conn.execute("SELECT quantity_kg FROM cases WHERE external_id = 'x/E-1'").fetchone()
        assert kg is not None and kg[0] == pytest.approx(1.25)
        prov = conn.execute(
            "SELECT p.partner, p.imported_by, p.counts, a.code FROM exchange_packages p "
            "JOIN agencies a ON a.id = p.agency_id"
        ).fetchone()
        assert prov is not None and prov[0] == "TJK-EXP" and prov[1] == "analyst-b"
        assert prov[2] == {"cases": 3, "events": 2} and prov[3] == "KGZ-IMP"
        ev = conn.execute(
            "SELECT kind, severity, ST_X(geom), properties FROM exchange_events "
            "WHERE event_key = 'border_cross:x:1'"
        ).fetchone()
        assert ev is not None and ev[:2] == ("border_cross", "critical")
        assert ev[2] == pytest.approx(71.45) and ev[3] == {"border": "AFG-TJK"}
    rc, out = cli(b, "exchange", "import", pkg, "--agency", "KGZ-IMP")
    assert rc == 0 and "already imported" in out, out
    assert counts(b) == (1, 3, 2)


def _tampered(src: Path, dst: Path, sql: str) -> Path:
    """A copy of ``src`` edited with GDAL's ogrinfo, as anyone holding the file could."""
    shutil.copy(src, dst)
    subprocess.run(["ogrinfo", "-q", str(dst), "-sql", sql], capture_output=True, check=True)
    return dst


def test_changed_content_or_manifest_is_refused(exported: dict[str, object]) -> None:
    b, tmp, pkg = str(exported["b"]), Path(str(exported["tmp"])), Path(str(exported["pkg"]))
    cli(b, "exchange", "trust", "add", "--agency", "KGZ-IMP", "--partner", "TJK-EXP",
        "--key", str(exported["public"]))  # fmt: skip
    before = counts(b)
    row = _tampered(
        pkg, tmp / "row.gpkg", "UPDATE cases SET quantity = 9999 WHERE external_id = 'x/E-1'"
    )
    rc, out = cli(b, "exchange", "import", str(row), "--agency", "KGZ-IMP")
    assert rc != 0 and "layer 'cases' was changed after signing" in out, out
    gone = _tampered(pkg, tmp / "gone.gpkg", "DELETE FROM events WHERE event_key LIKE 'sensor%'")
    rc, out = cli(b, "exchange", "import", str(gone), "--agency", "KGZ-IMP")
    assert rc != 0 and "changed after signing" in out, out
    forged = _tampered(
        pkg,
        tmp / "manifest.gpkg",
        'UPDATE geomon_exchange SET manifest = replace(manifest, \'"note": ""\', '
        '\'"note": "forged"\')',
    )
    rc, out = cli(b, "exchange", "import", str(forged), "--agency", "KGZ-IMP")
    assert rc != 0 and "signature does not match" in out, out
    assert counts(b) == before


def test_other_key_and_revoked_key_are_refused(exported: dict[str, object]) -> None:
    a, b, tmp = str(exported["a"]), str(exported["b"]), Path(str(exported["tmp"]))
    rc, out = cli(a, "exchange", "keygen", "--out", str(tmp / "rogue.pem"))
    assert rc == 0, out
    rogue = tmp / "rogue.gpkg"
    rc, out = cli(
        a, "exchange", "export", "--agency", "TJK-EXP", "--key", str(tmp / "rogue.pem"),
        *WINDOW, "--what", "events", "--out", str(rogue),
    )  # fmt: skip
    assert rc == 0, out
    rc, out = cli(b, "exchange", "import", str(rogue), "--agency", "KGZ-IMP")
    assert rc != 0 and "not trusted" in out, out
    rc, out = cli(b, "exchange", "trust", "list", "--agency", "KGZ-IMP")
    fp = out.split("\t")[1]
    rc, out = cli(b, "exchange", "trust", "revoke", "--agency", "KGZ-IMP", "--fingerprint", fp)
    assert rc == 0, out
    rc, out = cli(b, "exchange", "verify", str(exported["pkg"]), "--agency", "KGZ-IMP")
    assert rc != 0 and "not trusted" in out, out
    cli(b, "exchange", "trust", "add", "--agency", "KGZ-IMP", "--partner", "TJK-EXP",
        "--key", str(exported["public"]))  # fmt: skip


def test_a_later_package_updates_with_history(exported: dict[str, object]) -> None:
    a, b, tmp = str(exported["a"]), str(exported["b"]), Path(str(exported["tmp"]))
    (tmp / "edit.csv").write_text(
        CSV.replace("E-3,drug_seizure,opium,2,kg", "E-3,drug_seizure,opium,3,kg")
    )
    rc, out = cli(
        a, "cases", "import", str(tmp / "edit.csv"), "--agency", "TJK-EXP", "--source", "x"
    )
    assert rc == 0, out
    later = tmp / "later.gpkg"
    rc, out = cli(
        a, "exchange", "export", "--agency", "TJK-EXP", "--key", str(tmp / "key.pem"),
        *WINDOW, "--what", "cases", "--out", str(later),
    )  # fmt: skip
    assert rc == 0, out
    rc, out = cli(b, "exchange", "import", str(later), "--agency", "KGZ-IMP")
    assert rc == 0 and "updated 1, unchanged 2" in out, out
    with psycopg.connect(b) as conn:
        kg = conn.execute("SELECT quantity_kg FROM cases WHERE external_id = 'x/E-3'").fetchone()
        assert kg is not None and kg[0] == pytest.approx(3.0)
        hist = conn.execute(
            "SELECT count(*) FROM case_history h JOIN cases c ON c.id = h.case_id "
            "WHERE c.external_id = 'x/E-3'"
        ).fetchone()
        assert hist is not None and hist[0] >= 2  # created, then updated
