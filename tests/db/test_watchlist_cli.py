"""``geomon watchlist add|list|remove|import`` against a real database: audit rows for each,
a bad file refused whole with its rows named, another agency's entry not removable."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from geomon.cli.watchlists import app
from geomon.store.audit import audit_rows
from geomon.store.devices import ensure_agency

runner = CliRunner()
AG, OTHER = "KGZ-WLCLI", "TJK-WLCLI"


@pytest.fixture(scope="module")
def env(db_url: str) -> dict[str, str]:
    with psycopg.connect(db_url) as conn:
        ensure_agency(conn, AG)
        ensure_agency(conn, OTHER)
    return {"GEOMON_DB__URL": db_url}


def _run(args: list[str], env: dict[str, str], code: int = 0) -> str:
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == code, result.output
    return result.output


def test_add_list_remove_import_are_audited(env: dict[str, str], db_url: str, tmp_path: Path):
    with psycopg.connect(db_url) as conn:
        since = max([0, *(r["id"] for r in audit_rows(conn))])
    out = _run(["add", "01 KG 777 X", "--agency", AG, "--reason", "tip", "--as", "ana"], env)
    entry_id = int(out.split()[2].rstrip(":"))
    assert "01KG777X" in out
    _run(["remove", str(entry_id), "--agency", OTHER, "--as", "eve"], env, code=1)
    listed = _run(["list", "--agency", AG, "--json"], env)
    assert [json.loads(x)["plate"] for x in listed.splitlines()] == ["01KG777X"]
    bad = tmp_path / "bad.csv"
    bad.write_text("plate,priority\n123ABC,high\nA*,low\n\n777,urgent\n", encoding="utf-8")
    out = _run(["import", str(bad), "--agency", AG], env, code=1)
    assert "row 3" in out and "row 5" in out and "nothing imported" in out
    good = tmp_path / "good.csv"
    good.write_text("plate,priority\n123ABC,high\n01KG*,low\n", encoding="utf-8")
    assert "imported 2" in _run(["import", str(good), "--agency", AG], env)
    _run(["remove", str(entry_id), "--agency", AG, "--why", "cleared", "--as", "ana"], env)
    listed = _run(["list", "--agency", AG, "--removed"], env)
    assert "removed" in listed and len(listed.splitlines()) == 3
    with psycopg.connect(db_url) as conn:
        rows = [r for r in audit_rows(conn, since_id=since) if r["method"] == "CLI"]
    assert [r["route"] for r in rows] == [
        "geomon watchlist add",
        "geomon watchlist list",
        "geomon watchlist import",
        "geomon watchlist remove",
        "geomon watchlist list",
    ]
    assert rows[0]["username"] == "ana" and str(entry_id) in str(rows[0]["params"])
