"""``/api/v1/reports/…`` on the seeded PostGIS: files in the four formats read back with
independent readers, the caller's language and zone, row-level security (a second agency's
cases and teams never appear in the first's reports), and bad parameters answered 4xx naming
what is wrong."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.seed import DAY, Seed, auth_headers

DOSTUK = (72.79850, 40.52828)
WEEK = "2026-W03"  # 12-18 Jan 2026: the cases below are alone at Dostuk that week (the
# shared test database has other tests' cases at Dostuk in the seed's week of DAY, 20 Nov)
CASE_TIME = datetime(2026, 1, 15, 3, tzinfo=UTC)
CANARY_KG = 777.125


@pytest.fixture(scope="module")
def cases(db_url: str, seed: Seed) -> None:
    x, y = DOSTUK
    with psycopg.connect(db_url) as conn:
        for agency, substance, kg in (
            (seed.agency_a, "heroin", 2.5),
            (seed.agency_a, "heroin", 1.25),
            (seed.agency_a, "opium", 4.0),
            (seed.agency_b, "cocaine", CANARY_KG),
        ):
            conn.execute(
                "INSERT INTO cases (agency_id, source, external_id, category, substance, "
                "quantity_kg, unit, occurred_at, geom) VALUES (%s, 'api-report', %s, "
                "'drug_seizure', %s, %s, 'kg', %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                (agency, uuid.uuid4().hex, substance, kg, CASE_TIME, x, y),
            )
        conn.commit()


@pytest.fixture(scope="module")
def tj(db_url: str) -> dict[str, str]:
    return auth_headers(db_url, role="viewer", agency="TJK-BS")


def _csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_blo_weekly_csv_in_english_sees_only_the_callers_cases(
    client: TestClient, cases: None, tj: dict[str, str]
) -> None:
    params = {"place": "Dostuk", "week": WEEK, "format": "csv", "lang": "en", "tz": "Asia/Bishkek"}
    r = client.get("/api/v1/reports/blo-weekly", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="blo-weekly-2026-W03.csv"' in r.headers["content-disposition"]
    rows = _csv(r.content)
    heroin = next(row for row in rows if row[:2] == ["Drug seizure", "Heroin"])
    assert heroin[2:4] == ["2", "3.75"]
    assert "777.125" not in r.text and "Cocaine" not in r.text
    theirs = client.get("/api/v1/reports/blo-weekly", params=params, headers=tj)
    assert theirs.status_code == 200
    assert "777.125" in theirs.text and "Heroin" not in theirs.text


def test_blo_weekly_xlsx_and_pdf_in_russian(client: TestClient, cases: None) -> None:
    from openpyxl import load_workbook
    from pypdf import PdfReader

    base = {"place": "Достук", "week": "2026-01-14"}
    x = client.get("/api/v1/reports/blo-weekly", params={**base, "format": "xlsx"},
                   headers={"Accept-Language": "ru"})  # fmt: skip
    assert x.status_code == 200, x.text
    wb = load_workbook(io.BytesIO(x.content))
    rows = list(wb.worksheets[1].iter_rows(values_only=True))
    assert ("Изъятие наркотиков", "Опий", 1, 4.0, None) in rows
    p = client.get("/api/v1/reports/blo-weekly", params={**base, "format": "pdf", "lang": "ru"})
    assert p.status_code == 200 and p.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(p.content)).pages)
    assert "Еженедельный отчёт ПКП: Достук" in text and "Героин" in text
    assert "777" not in text


def test_trips_html_and_summary_xlsx_only_the_callers_teams(
    client: TestClient, seed: Seed, tj: dict[str, str]
) -> None:
    from openpyxl import load_workbook

    window = {"start": DAY.isoformat(), "end": (DAY + timedelta(days=2)).isoformat()}
    r = client.get("/api/v1/reports/trips", params={**window, "lang": "ru", "tz": "Asia/Bishkek"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "Отчёт о поездках" in r.text and "kg-1" in r.text and "tj-1" not in r.text
    # the seed's first fix is 16:00 UTC on 20 Nov: 22:00 in Bishkek
    assert "20.11.2026, 22:00" in r.text
    s = client.get("/api/v1/reports/summary", params={**window, "format": "xlsx"}, headers=tj)
    assert s.status_code == 200, s.text
    rows = list(load_workbook(io.BytesIO(s.content)).worksheets[1].iter_rows(values_only=True))
    assert {row[0] for row in rows[1:]} == {"tj-1"}
    assert sum(row[6] for row in rows[1:]) == 96  # every fix of the seeded day, once
    one = client.get("/api/v1/reports/stops", params={**window, "device": seed.devices["kg-1"],
                                                       "format": "csv"})  # fmt: skip
    assert one.status_code == 200
    hidden = client.get("/api/v1/reports/trips", params={**window, "device": seed.devices["tj-1"]})
    assert hidden.status_code == 404


@pytest.mark.parametrize(
    ("path", "params", "status", "names"),
    [
        ("blo-weekly", {"place": "Dostuk", "week": WEEK, "format": "doc"}, 422, "format"),
        ("blo-weekly", {"place": "Dostuk", "week": "2026-W99"}, 422, "week"),
        ("blo-weekly", {"place": "Atlantis", "week": WEEK}, 404, "place"),
        ("blo-weekly", {"place": "Dostuk", "week": WEEK, "radius_km": 500}, 422, "radius_km"),
        ("blo-weekly", {"week": WEEK}, 422, "place"),
        ("blo-weekly", {"place": "Dostuk", "week": WEEK, "tz": "Mars/Olympus"}, 422, "time zone"),
        ("trips", {"start": "2026-11-22T00:00:00Z", "end": "2026-11-20T00:00:00Z"}, 422, "start"),
        ("trips", {"start": "2026-10-01T00:00:00Z", "end": "2026-11-20T00:00:00Z"}, 422, "31"),
        ("stops", {"start": "yesterday"}, 422, "start"),
        ("summary", {"device": "abc"}, 422, "device"),
    ],
)
def test_bad_parameters_are_4xx_naming_the_problem(
    client: TestClient, path: str, params: dict[str, object], status: int, names: str
) -> None:
    r = client.get(f"/api/v1/reports/{path}", params=params)
    assert r.status_code == status, r.text
    assert names in r.text


def test_reports_need_a_caller(client: TestClient) -> None:
    r = client.get("/api/v1/reports/trips", headers={"Authorization": ""})
    assert r.status_code == 401


def test_a_like_pattern_is_not_a_place(client: TestClient) -> None:
    for key in ("%", "_ostuk", "D%"):
        r = client.get("/api/v1/reports/blo-weekly", params={"place": key, "week": WEEK})
        assert r.status_code == 404, (key, r.status_code)
