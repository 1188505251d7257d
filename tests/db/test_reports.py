"""Reports against a real PostGIS under row-level security: the weekly BLO report of Dostuk
counts exactly the seeded cases, events and patrol fixes of the caller's agency in the week
of the reader's calendar (Bishkek, UTC+6) — not another agency's, not a deleted case, not one
outside the area —, and ``geomon reports`` writes the same figures as CSV."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from geomon.cli.reports import app
from geomon.reports import service
from geomon.store import reports as store
from geomon.store.devices import add_device, ensure_agency

DOSTUK = (72.79850, 40.52828)
MONDAY_LOCAL = datetime(2026, 11, 23, tzinfo=UTC) - timedelta(hours=6)  # 00:00 in Bishkek
runner = CliRunner()


@dataclass
class Seeded:
    a: str
    b: str
    a_id: int
    device: int


def _case(conn: psycopg.Connection, agency: int, when: datetime, lon: float, lat: float,
          category: str, substance: str | None, kg: float | None, count: int | None = None,
          deleted: bool = False) -> None:  # fmt: skip
    conn.execute(
        "INSERT INTO cases (agency_id, source, external_id, category, substance, quantity_kg, "
        "quantity_count, unit, occurred_at, geom, deleted_at, deleted_by) VALUES (%s, 'test', "
        "%s, %s, %s, %s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s)",
        (agency, uuid.uuid4().hex, category, substance, kg, count,
         "kg" if kg is not None else ("plants" if count else None), when, lon, lat,
         when if deleted else None, "test" if deleted else None),
    )  # fmt: skip


@pytest.fixture(scope="module")
def seeded(db_url: str) -> Iterator[Seeded]:
    tag = uuid.uuid4().hex[:6].upper()
    a, b = f"RPT-A-{tag}", f"RPT-B-{tag}"
    x, y = DOSTUK
    with psycopg.connect(db_url) as conn:
        a_id, b_id = ensure_agency(conn, a), ensure_agency(conn, b)
        conn.execute("UPDATE agencies SET country = 'KGZ' WHERE id = %s", (a_id,))
        week = MONDAY_LOCAL
        _case(conn, a_id, week + timedelta(minutes=30), x + 0.01, y, "drug_seizure", "heroin", 1.5)
        _case(conn, a_id, week + timedelta(days=2), x, y + 0.05, "drug_seizure", "heroin", 2.0)
        _case(conn, a_id, week + timedelta(days=6, hours=23), x, y, "drug_seizure", "heroin", 0.5)
        _case(conn, a_id, week + timedelta(days=3), x, y, "drug_seizure", "cannabis_plants",
              None, 340)  # fmt: skip
        _case(conn, a_id, week + timedelta(days=1), x, y, "detention", None, None)
        # previous week (Sunday 23:30 local), last year's week, and what must not count
        _case(conn, a_id, week - timedelta(minutes=30), x, y, "drug_seizure", "heroin", 1.0)
        _case(conn, a_id, week - timedelta(weeks=52) + timedelta(days=1), x, y, "detention",
              None, None)  # fmt: skip
        _case(conn, a_id, week + timedelta(days=1), x, y, "drug_seizure", "heroin", 50,
              deleted=True)  # fmt: skip
        _case(conn, a_id, week + timedelta(days=1), x + 0.8, y, "drug_seizure", "opium", 9.0)
        _case(conn, a_id, week + timedelta(days=7), x, y, "drug_seizure", "opium", 9.0)
        _case(conn, b_id, week + timedelta(days=1), x, y, "drug_seizure", "heroin", 100.0)
        for kind, sev, when, agency in (
            ("zone_enter", "warning", week + timedelta(days=1), a_id),
            ("zone_enter", "warning", week + timedelta(days=2), a_id),
            ("border_cross", "critical", week + timedelta(days=2), a_id),
            ("zone_enter", "warning", week - timedelta(days=2), a_id),
            ("zone_enter", "warning", week - timedelta(weeks=52) + timedelta(hours=1), a_id),
            ("sos", "critical", week + timedelta(days=2), b_id),
        ):
            conn.execute(
                "INSERT INTO events (agency_id, kind, severity, occurred_at, geom) VALUES "
                "(%s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                (agency, kind, sev, when, x, y),
            )
        dev = add_device(conn, uid=f"rpt-{tag}", kind="tracker", agency=a, name=f"Patrol {tag}")
        other = add_device(conn, uid=f"rpt-b-{tag}", kind="tracker", agency=b, name="B car")
        start = week + timedelta(days=2, hours=4)  # 04:00 local on Wednesday
        for device in (dev.id, other.id):
            # parked 10 min, 10 min east at 10 m/s (0.00118 deg lon per 10 s at 40.5 N), parked
            conn.execute(
                "INSERT INTO positions (device_id, fix_time, geom, speed_mps, valid) "
                "SELECT %(d)s, %(t)s + g * interval '10 seconds', ST_SetSRID(ST_MakePoint("
                "%(x)s + 0.0011815 * least(greatest(g - 60, 0), 60), %(y)s), 4326), "
                "CASE WHEN g > 60 AND g <= 120 THEN 10 ELSE 0 END, true "
                "FROM generate_series(0, 180) g",
                {"d": device, "t": start, "x": x - 0.05, "y": y},
            )
        conn.commit()
    yield Seeded(a, b, a_id, dev.id)


async def _blo(db_url: str, agency_id: int, locale: str = "en") -> service.Report:  # type: ignore[name-defined]
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        await store.set_context(conn, agency_id=agency_id, role="viewer", user="test")
        return await service.blo_weekly(
            conn, "Dostuk", "2026-W48", service.Reader(locale, "Asia/Bishkek")
        )


def _table(report: object, key: str) -> list[list[object]]:
    return next(t.rows for t in report.tables if t.key == key)  # type: ignore[attr-defined]


async def test_blo_weekly_counts_only_the_callers_week_and_area(
    db_url: str, seeded: Seeded
) -> None:
    report = await _blo(db_url, seeded.a_id)
    seizures = {(r[0], r[1]): r[2:] for r in _table(report, "seizures")}
    assert seizures == {
        ("Detention", "—"): [1, 0.0, None],
        ("Drug seizure", "Cannabis plants"): [1, 0.0, 340],
        ("Drug seizure", "Heroin"): [3, pytest.approx(4.0), None],
    }
    trend = {r[0]: r[1:] for r in _table(report, "case_trend")}
    # drug seizures: 4 this week, 1 the week before (+300 %), mean of 4 earlier weeks 0.25
    assert trend["Drug seizure"][:5] == [4, 1, pytest.approx(3.0), pytest.approx(0.25), 0]
    assert trend["Detention"][4] == 1  # the same week last year
    events = {(r[0], r[1]): r[2:4] for r in _table(report, "events")}
    assert events == {("border crossed", "critical"): [1, 0], ("zone entered", "warning"): [2, 1]}
    last_year = {r[0]: r[6] for r in _table(report, "events")}
    assert last_year == {"border crossed": 0, "zone entered": 1}
    patrol = _table(report, "patrol")
    assert [r[0] for r in patrol] == [f"Patrol {seeded.a[-6:]}"]
    assert patrol[0][1] == 181 and patrol[0][2] == pytest.approx(6.0, rel=0.01)
    meta = dict(report.meta)
    assert meta["Seized mass, kg"] == "4"
    # 6 km east along one parallel from 4.2 km west of the point: 7 cells of 1 km out of the
    # 1,976 whose centre lies within 25 km
    assert meta["Area covered"] == "0.4% (previous week 0%)"
    assert meta["Distance patrolled, km"] == "6.0 (previous week 0.0)"


async def test_blo_weekly_in_russian(db_url: str, seeded: Seeded) -> None:
    report = await _blo(db_url, seeded.a_id, "ru")
    assert report.title == "Еженедельный отчёт ПКП: Достук"
    subs = {r[1] for r in _table(report, "seizures")}
    assert "Героин" in subs
    html = service.render(report, "html").decode()
    assert '<html lang="ru">' in html and "Героин" in html and "23 нояб. 2026\u202fг." in html


async def test_team_reports_under_rls(db_url: str, seeded: Seeded) -> None:
    t0 = MONDAY_LOCAL
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        await store.set_context(conn, agency_id=seeded.a_id, role="viewer", user="test")
        reader = service.Reader("en", "Asia/Bishkek")
        trips = await service.team(conn, "trips", None, t0, t0 + timedelta(days=7), reader)
        rows = trips.tables[0].rows
        assert len(rows) == 1 and rows[0][0] == f"Patrol {seeded.a[-6:]}"
        assert rows[0][5] == pytest.approx(6.0, rel=0.01) and rows[0][6] == 600
        assert rows[0][2].startswith("Dostuk road BCP, ")
        summary = await service.team(conn, "summary", [seeded.device], t0,
                                     t0 + timedelta(days=7), reader)  # fmt: skip
        day = summary.tables[0].rows[0]
        assert str(day[1]) == "2026-11-25" and day[3] == 600 and day[4] == 1200
        with pytest.raises(service.InvalidRequest):
            await service.team(conn, "trips", None, t0, t0 - timedelta(days=1), reader)


def test_cli_writes_the_same_figures_as_csv(db_url: str, seeded: Seeded, tmp_path) -> None:
    out = tmp_path / "dostuk.csv"
    args = ["blo-weekly", "--agency", seeded.a, "--place", "Достук", "--week", "2026-11-25",
            "--format", "csv", "--out", str(out), "--lang", "ru"]  # fmt: skip
    result = runner.invoke(app, args, env={"GEOMON_DB__URL": db_url})
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == ["Еженедельный отчёт ПКП: Достук"]
    heroin = next(r for r in rows if len(r) > 2 and r[1] == "Героин")
    assert heroin[:4] == ["Изъятие наркотиков", "Героин", "3", "4"]
    bad = runner.invoke(app, [*args[:7], "--format", "doc"], env={"GEOMON_DB__URL": db_url})
    assert bad.exit_code != 0 and "accepted: html, csv" in bad.output


def _cli(db_url: str, seeded: Seeded, tmp_path, fmt: str) -> bytes:  # type: ignore[no-untyped-def]
    out = tmp_path / f"dostuk.{fmt}"
    args = ["blo-weekly", "--agency", seeded.a, "--place", "Dostuk", "--week", "2026-W48",
            "--format", fmt, "--out", str(out), "--lang", "ru"]  # fmt: skip
    result = runner.invoke(app, args, env={"GEOMON_DB__URL": db_url})
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def test_xlsx_reads_back_with_native_numbers_and_local_times(db_url, seeded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(_cli(db_url, seeded, tmp_path, "xlsx")))
    assert wb.sheetnames[0].startswith("Еженедельный отчёт ПКП")
    sheet = wb.worksheets[1]  # the tables in order: seizures, trend, events, sensors, patrol
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Категория", "Вещество", "Случаи", "Масса, кг", "Единиц (штук)")
    heroin = next(r for r in rows if r[1] == "Героин")
    assert heroin[2] == 3 and heroin[3] == pytest.approx(4.0)
    patrol = list(wb.worksheets[5].iter_rows(values_only=True))
    # the first fix was at 22:00 UTC on Tuesday: 04:00 on Wednesday in Bishkek
    assert patrol[1][1] == 181 and patrol[1][3] == datetime(2026, 11, 25, 4, 0)
    assert sheet["D2"].number_format == "#,##0.000"
    charts = wb.worksheets[-1]
    assert charts.title == "Диаграммы"
    rows = list(charts.iter_rows(values_only=True))
    assert ("Героин", pytest.approx(4.0), pytest.approx(1.0)) in [r[:3] for r in rows]
    with zipfile.ZipFile(io.BytesIO(_cli(db_url, seeded, tmp_path, "xlsx"))) as z:
        drawn = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(drawn) == 2  # native bar charts: kg by substance, events by kind
        assert "Изъятая масса по веществам, кг" in z.read(drawn[0]).decode()


def test_pdf_has_the_russian_text_the_map_and_the_charts(db_url, seeded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(_cli(db_url, seeded, tmp_path, "pdf")))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "Еженедельный отчёт ПКП: Достук" in text
    assert "Героин" in text and "Растения каннабиса" in text
    assert "Изъято, кг" in text and "Пограничный переход" not in text
    assert "+300" in text  # drug seizures against the previous week
    images = [img for page in pdf.pages for img in page.images]
    assert len(images) == 3  # the map and two charts
    (tmp_path / "dostuk.pdf").rename(Path("test-output") / "blo-weekly-dostuk.pdf")
