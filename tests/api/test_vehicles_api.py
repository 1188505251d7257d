"""GET /api/v1/vehicles/{plate}/journey through the geomon_app role: ordered reads across
posts and countries, visits, legs with the time between posts and the implied speed, only
the caller's agency's reads (and those shared with it), audited, bad input a 422."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.journeys import great_circle_km
from geomon.settings import DbSettings, Settings
from geomon.store.audit import audit_rows
from geomon.store.devices import add_device, bind_device, ensure_agency
from geomon.store.users import share
from tests.helpers.auth import make_user

T0 = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)
KZ, KG = "KAZ-VJ", "KGZ-VJ"


@pytest.fixture(scope="module")
def client(db_url: str, app_db_url: str, tmp_path_factory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("vj-data")
    app = create_app(Settings(db=DbSettings(url=db_url, app_url=app_db_url), data_dir=data))
    with TestClient(app) as c:
        yield c


def _seed(db_url: str, plate: str) -> None:
    posts = [(KZ, "Nur Zholy"), (KZ, "Nur Zholy"), (KZ, "Kordai / Ak-Jol road BCP"),
             (KG, "Torugart road BCP")]  # fmt: skip
    times = [T0, T0 + timedelta(minutes=2), T0 + timedelta(hours=7), T0 + timedelta(hours=8)]
    with psycopg.connect(db_url) as c:
        for i, ((agency, place), t) in enumerate(zip(posts, times, strict=True)):
            ensure_agency(c, agency)
            uid = f"VJ-{uuid.uuid4().hex[:8]}"
            add_device(c, uid=uid, kind="sensor", agency=agency)
            bind_device(c, uid, place=place)
            c.execute(
                "INSERT INTO observations (sensor_id, observed_at, kind, value, text, geom, attrs,"
                " plate_norm) SELECT d.id, %s, 'plate_read', 0.9, %s, p.geom, %s, %s "
                "FROM devices d JOIN places p ON p.id = d.place_id WHERE d.uid = %s",
                (t, plate, '{"direction": "%s"}' % ("in" if i == 0 else "out"), plate, uid),
            )


def _h(db_url: str, agency: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_user(db_url, role='viewer', agency=agency)[2]}"}


def test_journey_across_posts_and_countries(client: TestClient, db_url: str) -> None:
    plate = f"01{uuid.uuid4().hex[:5].upper()}A"
    _seed(db_url, plate)
    kz = _h(db_url, KZ)
    params = {"since": "2026-11-01T00:00:00Z", "until": "2026-11-10T00:00:00Z"}
    r = client.get(f"/api/v1/vehicles/{plate.lower()}/journey", params=params, headers=kz)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["plate"] == plate and len(doc["reads"]) == 3  # KG's read is not shared
    assert [v["reads"] for v in doc["visits"]] == [2, 1]
    (leg,) = doc["legs"]
    assert leg["seconds"] == 7 * 3600 - 120 and not leg["too_fast"]
    km = great_circle_km(80.38522, 44.22335, 74.71287, 43.03882)
    assert leg["distance_km"] == pytest.approx(km, abs=0.01)
    with psycopg.connect(db_url) as c:
        share(c, from_agency=KG, to_agency=KZ, scope="observations")
    doc = client.get(f"/api/v1/vehicles/{plate}/journey", params=params, headers=kz).json()
    assert len(doc["reads"]) == 4 and doc["countries"] == ["CHN", "KAZ", "KGZ"]
    last = doc["legs"][-1]
    assert last["to"] == "Torugart road BCP" and last["too_fast"]  # ~440 km in an hour
    with psycopg.connect(db_url) as c:
        rows = [x for x in audit_rows(c) if x["route"].endswith("/journey")]
    assert rows and rows[-1]["params"]["plate"] == plate


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/vehicles/%07/journey", {}),
        (f"/api/v1/vehicles/{'A' * 30}/journey", {}),
        ("/api/v1/vehicles/123ABC/journey", {"since": "2026-01-02T00:00:00Z",
                                             "until": "2026-01-01T00:00:00Z"}),
        ("/api/v1/vehicles/123ABC/journey", {"since": "2024-01-01T00:00:00Z",
                                             "until": "2026-01-01T00:00:00Z"}),
        ("/api/v1/vehicles/123ABC/journey", {"since": "yesterday"}),
        ("/api/v1/vehicles/123ABC/journey", {"limit": 0}),
    ],
)  # fmt: skip
def test_bad_journey_requests_are_422(client: TestClient, db_url: str, path, params) -> None:
    r = client.get(path, params=params, headers=_h(db_url, KZ))
    assert r.status_code == 422, r.text
