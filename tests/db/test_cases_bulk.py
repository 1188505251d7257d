"""``geomon cases import`` at archive scale: COPY staging + one upsert. More rows than the old
50,000 cap, re-import writes nothing, history for changed rows only, a deleted case revived,
duplicates and short rows reported by line, files in no known encoding refused."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from geomon.cli.cases import app
from geomon.store.devices import ensure_agency

runner = CliRunner()
HEADER = "external_id,category,substance,quantity,unit,occurred_at,lon,lat,note"
N = 60_000  # above the 50,000 rows the old importer took


def _row(i: int, kg: float = 1.5) -> str:
    when = f"2025-03-{1 + i % 28:02d}T10:00:00Z"
    lon, lat = 70 + i % 1000 / 100, 38 + i % 500 / 100
    return f"X-{i},drug_seizure,heroin,{kg + i % 7},kg,{when},{lon},{lat},"


@pytest.fixture(scope="module")
def env(db_url: str) -> dict[str, str]:
    with psycopg.connect(db_url) as conn:
        ensure_agency(conn, "KGZ-BULK")
    return {"GEOMON_DB__URL": db_url}


def _run(args: list[str], env: dict[str, str], code: int = 0) -> str:
    result = runner.invoke(app, ["import", *args, "--agency", "KGZ-BULK"], env=env)
    assert result.exit_code == code, result.output
    return result.output


def _state(db_url: str, source: str) -> tuple[int, int, int]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*), (SELECT count(*) FROM case_history h JOIN cases c "
            "ON c.id = h.case_id WHERE c.source = %s), "
            "count(*) FILTER (WHERE deleted_at IS NULL) FROM cases WHERE source = %s",
            (source, source),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def test_large_file_then_reimport_then_changes(
    env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    f = tmp_path / "archive.csv"
    f.write_text("\n".join([HEADER, *(_row(i) for i in range(N))]) + "\n")
    assert f"{N} created, 0 updated, 0 unchanged" in _run([str(f), "--source", "bulk"], env)
    assert _state(db_url, "bulk") == (N, N, N)
    assert f"0 created, 0 updated, {N} unchanged" in _run([str(f), "--source", "bulk"], env)
    assert _state(db_url, "bulk") == (N, N, N)  # nothing written, not even history
    with psycopg.connect(db_url) as conn:
        kg = conn.execute(
            "SELECT quantity_kg, ST_X(geom), ST_Y(geom) FROM cases "
            "WHERE source = 'bulk' AND external_id = 'X-8'"
        ).fetchone()
        assert kg == (pytest.approx(2.5), pytest.approx(70.08), pytest.approx(38.08))
        conn.execute(
            "UPDATE cases SET deleted_at = now(), deleted_by = 't', deleted_why = 'test' "
            "WHERE source = 'bulk' AND external_id = 'X-9'"
        )
    # two rows changed, one deleted case comes back, one row new
    rows = [_row(i) for i in range(N)]
    rows[3] = _row(3, kg=99.0)
    rows[4] = rows[4].replace("2025-03-05T10:00:00Z", "2025-03-05T10:00:00+06:00")
    rows.append(_row(N))
    f.write_text("\n".join([HEADER, *rows]) + "\n")
    out = _run([str(f), "--source", "bulk"], env)
    assert f"1 created, 3 updated, {N - 3} unchanged, 0 rejected" in out
    assert _state(db_url, "bulk") == (N + 1, N + 4, N + 1)
    with psycopg.connect(db_url) as conn:
        hist = conn.execute(
            "SELECT h.action, h.before->>'quantity_kg', h.after->>'quantity_kg' "
            "FROM case_history h JOIN cases c ON c.id = h.case_id "
            "WHERE c.source = 'bulk' AND c.external_id = 'X-3' ORDER BY h.id"
        ).fetchall()
        assert [h[0] for h in hist] == ["create", "update"]
        assert float(hist[1][1]) == pytest.approx(4.5) and float(hist[1][2]) == 102.0


def test_duplicates_and_short_rows_by_line(
    env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    f = tmp_path / "dups.csv"
    f.write_text("\n".join([HEADER, _row(1), _row(2), _row(1), "X-9,detention"]) + "\n")
    out = _run([str(f), "--source", "dups"], env, code=1)
    assert "dups.csv:4: external_id 'X-1' repeats line 2" in out
    assert "dups.csv:5: 2 fields, the header has 9" in out
    assert _state(db_url, "dups") == (0, 0, 0)
    rejects = tmp_path / "rej.csv"
    out = _run([str(f), "--source", "dups", "--skip-bad", "--rejects", str(rejects)], env)
    assert "2 created" in out and "2 rejected" in out
    assert rejects.read_text().splitlines()[1:] == [
        "4,external_id 'X-1' repeats line 2",
        '5,"2 fields, the header has 9"',
    ]


def test_encodings(env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    f = tmp_path / "latin.csv"  # not UTF-8 and no Cyrillic in cp1251: refused, not guessed
    f.write_bytes((HEADER + "\n" + _row(1) + "Größe\n").encode("latin-1"))
    out = _run([str(f), "--source", "enc"], env, code=1)
    assert "not UTF-8 (nor Cyrillic cp1251); save it as UTF-8" in out
    f = tmp_path / "cp.csv"  # cp1251 far past the first megabyte is still found
    body = [_row(i) for i in range(30_000)] + [_row(30_000) + "Досмотр на посту"]
    f.write_bytes(("\n".join([HEADER, *body]) + "\n").encode("cp1251"))
    assert f.stat().st_size > 1 << 20  # past the first 1 MiB block
    assert "30001 created" in _run([str(f), "--source", "enc"], env)
    with psycopg.connect(db_url) as conn:
        note = conn.execute(
            "SELECT note FROM cases WHERE source = 'enc' AND external_id = 'X-30000'"
        )
        assert note.fetchone() == ("Досмотр на посту",)
