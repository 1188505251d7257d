"""``geomon demo-data`` puts the watch-listed vehicle, its driver and his phone, linked to last
year's heroin seizure at Khorgos, in the store (once, however often it runs); the situation
centre's analyst finds the vehicle by its plate and sees the person linked to the seizure."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from geomon.cli import app as cli_app
from geomon.demo import DEMO_CASE_ID, WATCHED_PLATE
from geomon.settings import DbSettings, Settings
from tests.api.seed import auth_headers
from tests.conftest import REFERENCE, create_database, drop_database, prepare_database


@pytest.fixture(scope="module")
def demo_db(pg_base_url: str) -> Iterator[str]:
    url = create_database(pg_base_url, "geomon_demo_ent")
    try:
        prepare_database(url)
        yield url
    finally:
        drop_database(pg_base_url, url)


def test_demo_vehicle_leads_to_last_years_seizure(
    demo_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEOMON_DB__URL", demo_db)
    monkeypatch.setenv("GEOMON_REFERENCE_DIR", str(REFERENCE))
    for _ in range(2):
        args = ["demo-data", "--teams", "2", "--incidents", "20", "--login", "duty"]
        result = CliRunner().invoke(cli_app, args)
        assert result.exit_code == 0, result.output
    assert "/map#entity=" in result.output
    with psycopg.connect(demo_db) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM entities), (SELECT count(*) FROM links)"
        ).fetchone()
    assert counts == (3, 4)
    headers = auth_headers(demo_db, role="viewer", agency="RSC-DEMO")
    with TestClient(create_app(Settings(db=DbSettings(url=demo_db)))) as client:
        found = client.get("/api/v1/entities", params={"plate": WATCHED_PLATE}, headers=headers)
        assert found.status_code == 200, found.text
        (car,) = found.json()["entities"]
        net = client.get(f"/api/v1/entities/{car['id']}/network", headers=headers).json()
    labels = {n["type"]: n["label"] for n in net["nodes"]}
    assert labels["case"] == f"drug_seizure {DEMO_CASE_ID}"
    assert labels["person"].startswith("Демо Курьер")
    assert labels["phone"] == "+77010000001"
    kinds = sorted(link["kind"] for link in net["links"])
    assert kinds == ["drives", "involved_in", "seized_in", "uses"]
