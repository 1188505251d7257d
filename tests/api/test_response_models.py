"""Response models of the non-GeoJSON lists (teams, cases): the OpenAPI document names them
and real bodies validate against them (extra or missing fields fail here)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from api.routes.cases import CaseHistory, CaseList
from api.routes.teams import TeamList

CASE = {
    "external_id": "RESP-MODEL-1",
    "source": "resp-model-test",
    "category": "drug_seizure",
    "substance": "heroin",
    "quantity": 3,
    "unit": "kg",
    "occurred_at": "2026-11-21T08:30:00+06:00",
    "lon": 72.9,
    "lat": 40.6,
    "transit_countries": ["TJK"],
}


def _strict(model: type[BaseModel], body: Any) -> None:
    """Validate ``body`` against ``model`` with unknown fields refused, at every level."""

    def forbid(m: type[BaseModel]) -> type[BaseModel]:
        fields: dict[str, Any] = {}
        for name, f in m.model_fields.items():
            ann = f.annotation
            args = getattr(ann, "__args__", ())
            if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
                ann = list[forbid(args[0])]  # type: ignore[misc]
            fields[name] = (ann, ...)
        from pydantic import create_model

        return create_model(  # type: ignore[call-overload, no-any-return]
            m.__name__, __config__=ConfigDict(extra="forbid"), **fields
        )

    forbid(model).model_validate(body)


def test_bodies_match_their_models(client: TestClient) -> None:
    r = client.put("/api/v1/cases", json=CASE)
    assert r.status_code in (200, 201), r.text
    cid = r.json()["case"]["id"]
    listed = client.get("/api/v1/cases", params={"after": cid - 1, "limit": 1})
    assert listed.status_code == 200 and listed.json()["cases"][0]["id"] == cid
    _strict(CaseList, listed.json())
    _strict(CaseHistory, client.get(f"/api/v1/cases/{cid}/history").json())
    teams = client.get("/api/v1/teams").json()
    assert teams["teams"], "the seed has devices"
    _strict(TeamList, teams)


def test_the_openapi_document_describes_the_bodies(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert {"CaseList", "CaseOut", "CaseHistory", "TeamList", "Team"} <= set(schemas)

    def ok_schema(path: str) -> str:
        body = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        return str(body["schema"].get("$ref", ""))

    assert ok_schema("/api/v1/cases").endswith("/CaseList")
    assert ok_schema("/api/v1/cases/{case_id}/history").endswith("/CaseHistory")
    assert ok_schema("/api/v1/teams").endswith("/TeamList")
    assert schemas["Team"]["properties"]["status"]["enum"] == [
        "moving",
        "stopped",
        "silent",
        "never_seen",
    ]
