"""``geomon entities`` against a real database: a CSV of entities and one of links imported
(idempotent), a file with bad rows refused whole with its line numbers, a network written
as GraphML and as the i2 CSV."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import networkx as nx
import psycopg
import pytest
from typer.testing import CliRunner

from geomon.cli.entities import app
from geomon.exchange.network import I2_COLUMNS
from geomon.store.devices import ensure_agency

runner = CliRunner()
ENTITIES = """kind,identity,name,plate,msisdn,imei,born_on
person,P-{tag},Шерзод Т.,,,,1990-05-01
vehicle,,,01 KG {n} ABC,,,
phone,,,,+996 555 {n},,
organisation,O-{tag},ОсОО Карго {tag},,,,
"""


@pytest.fixture
def setup(db_url: str, tmp_path: Path) -> tuple[dict[str, str], str, str]:
    tag = uuid.uuid4().hex[:6].upper()
    code = f"ENT-CLI-{tag}"
    with psycopg.connect(db_url) as conn:
        ensure_agency(conn, code)
    return {"GEOMON_DB__URL": db_url}, code, tag


def _run(args: list[str], env: dict[str, str], code: int = 0) -> str:
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == code, result.output
    return result.output


def _count(db_url: str, agency: str) -> tuple[int, int]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM entities e JOIN agencies a ON a.id = e.agency_id "
            "WHERE a.code = %s), (SELECT count(*) FROM links l JOIN agencies a "
            "ON a.id = l.agency_id WHERE a.code = %s)",
            (agency, agency),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_import_link_and_export(
    setup: tuple[dict[str, str], str, str], db_url: str, tmp_path: Path
) -> None:
    env, code, tag = setup
    n = str(uuid.uuid4().int % 900000 + 100000)
    path = tmp_path / "entities.csv"
    path.write_text(ENTITIES.format(tag=tag, n=n), encoding="utf-8")
    assert "4 entities created, 0 existing" in _run(["import", str(path), "--agency", code], env)
    assert "0 entities created, 4 existing" in _run(["import", str(path), "--agency", code], env)
    links = tmp_path / "links.csv"
    links.write_text(
        "entity,kind,to_kind,to,confidence,valid_from\n"
        f"person:P-{tag},drives,entity,vehicle:01KG{n}ABC,0.8,2025-01-01T00:00:00Z\n"
        f"person:P-{tag},uses,entity,phone:+996555{n},,\n"
        f"person:P-{tag},member_of,entity,organisation:O-{tag},,\n",
        encoding="utf-8",
    )
    assert "3 links created" in _run(["import-links", str(links), "--agency", code], env)
    assert _count(db_url, code) == (4, 3)
    found = _run(["search", "--plate", f"01kg{n}abc"], env)
    assert f"01KG{n}ABC" in found
    person = int(_run(["search", "--q", f"P-{tag}"], env).split()[0])
    out = tmp_path / "net.graphml"
    _run(["network", str(person), "--format", "graphml", "--out", str(out)], env)
    g = nx.read_graphml(out)
    assert g.number_of_nodes() == 4 and g.number_of_edges() == 3
    assert g.edges[f"entity-{person}", next(iter(g.successors(f"entity-{person}")))]["kind"]
    i2 = _run(["network", str(person), "--format", "i2"], env)
    rows = list(csv.reader(io.StringIO(i2)))
    assert tuple(rows[0]) == I2_COLUMNS and len(rows) == 4
    assert {r[10] for r in rows[1:]} == {"drives", "uses", "member_of"}


def test_bad_rows_refuse_the_whole_file(
    setup: tuple[dict[str, str], str, str], db_url: str, tmp_path: Path
) -> None:
    env, code, tag = setup
    path = tmp_path / "bad.csv"
    path.write_text(
        "kind,identity,name,plate,imei\n"
        f"person,P-{tag},Good Person,,\n"
        "vehicle,,,,\n"
        "phone,,,,490154203237519\n"
        f"person,P-{tag},Same Again,,\n"
        "robot,,R2,,\n",
        encoding="utf-8",
    )
    out = _run(["import", str(path), "--agency", code], env, code=1)
    assert "bad.csv:3: a vehicle needs a plate or a vin" in out
    assert "bad.csv:4: imei" in out and "check digit" in out
    assert "bad.csv:5: person 'P-" in out and "repeats line 2" in out
    assert "bad.csv:6: kind 'robot'" in out
    assert "4 bad rows; nothing imported" in out
    assert _count(db_url, code) == (0, 0)
    header = tmp_path / "header.csv"
    header.write_text("kind,colour\nperson,red\n", encoding="utf-8")
    assert "unknown columns ['colour']" in _run(["import", str(header), "--agency", code], env, 1)
    good = tmp_path / "good.csv"
    good.write_text(f"kind,identity,name\nperson,P-{tag},Good Person\n", encoding="utf-8")
    _run(["import", str(good), "--agency", code], env)
    links = tmp_path / "links.csv"
    links.write_text(
        f"entity,kind,to_kind,to\nperson:P-{tag},owns,case,{2**62}\nperson:nobody,owns,entity,#1\n",
        encoding="utf-8",
    )
    out = _run(["import-links", str(links), "--agency", code], env, code=1)
    assert f"links.csv:2: no case {2**62}" in out
    assert "links.csv:3: no live person with identity 'nobody'" in out
    assert _count(db_url, code) == (1, 0)
