"""HTTP Basic with an API token as the password (for QGIS 3.22, which cannot send a bearer
header): the same principal, agency and row-level security as the bearer token; the account
password, another user's name, expired/revoked tokens, device tokens and malformed headers are
refused without a 500; wrong tokens are not counted towards the login lockout (as for bearer
tokens), but a locked account is refused. Over real sockets under the application role, with
the agency matrix's server and two seeded agencies (tests/api/test_agency_matrix.py)."""

from __future__ import annotations

import base64

import httpx
import psycopg
import pytest

from geomon.credentials import token_digest
from tests.api.test_agency_matrix import agencies, server, traces  # noqa: F401 - fixtures
from tests.helpers.agency_data import AgencyData
from tests.helpers.auth import make_device_token, make_user

ITEMS = "/ogc/collections/incidents/items"


def basic(username: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}", "accept": "application/json"}


def get(base: str, path: str, headers: dict[str, str], **params: str) -> httpx.Response:
    return httpx.get(base + path, headers=headers, params=params or None, timeout=60)


def feature_ids(resp: httpx.Response) -> set[object]:
    assert resp.status_code == 200, resp.text
    return {f["id"] for f in resp.json()["features"]}


def failed_logins(db_url: str, name: str) -> tuple[int, object]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT failed_logins, locked_until FROM users WHERE name = %s", (name,)
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def test_basic_token_reads_only_the_callers_agency(
    server,
    agencies,
    db_url: str,
) -> None:
    base, _ = server
    a, b = agencies
    a_name, _, a_token = make_user(db_url, role="viewer", agency=a.code)
    b_name, _, b_token = make_user(db_url, role="viewer", agency=b.code)
    by_basic = get(base, ITEMS, basic(a_name, a_token), limit="1000")
    assert traces(by_basic.content, a)
    by_bearer = get(base, ITEMS, {"Authorization": f"Bearer {a_token}"}, limit="1000")
    assert feature_ids(by_basic) == feature_ids(by_bearer)
    b_basic = get(base, ITEMS, basic(b_name, b_token), limit="1000")
    assert b_basic.status_code == 200 and not traces(b_basic.content, a)
    me = get(base, "/auth/me", basic(a_name, a_token)).json()
    assert (me["user"], me["role"], me["agency_id"], me["via"]) == (
        a_name,
        "viewer",
        a.agency_id,
        "basic",
    )


def test_wrong_user_expired_revoked_password_and_device_are_refused(
    server, agencies, db_url: str
) -> None:
    base, _ = server
    a, b = agencies
    a_name, a_password, a_token = make_user(db_url, role="analyst", agency=a.code)
    b_name = make_user(db_url, role="viewer", agency=b.code)[0]
    # A's live token under B's name (and under a name nobody has)
    for name in (b_name, "nobody-" + a_name):
        resp = get(base, ITEMS, basic(name, a_token))
        assert resp.status_code == 401, name
        assert "Basic realm=" in resp.headers["www-authenticate"]
        assert resp.headers["www-authenticate"].startswith("Bearer")
    # the account password is never accepted over Basic
    assert get(base, ITEMS, basic(a_name, a_password)).status_code == 401
    # expired and revoked tokens
    for column in ("expires_at", "revoked_at"):
        name, _, token = make_user(db_url, role="viewer", agency=a.code)
        with psycopg.connect(db_url) as conn:
            conn.execute(
                f"UPDATE api_tokens SET {column} = now() - interval '1 second' "
                "WHERE token_hash = %s",
                (token_digest(token),),
            )
        assert get(base, ITEMS, basic(name, token)).status_code == 401, column
    # a device token: ingest only, under the device's uid or anybody's name
    device_token = make_device_token(db_url, a.device_uid)
    for name in (a.device_uid, a_name):
        assert get(base, ITEMS, basic(name, device_token)).status_code in (401, 403)
    # the token itself still works (none of the above locked anything)
    assert get(base, ITEMS, basic(a_name, a_token)).status_code == 200


@pytest.mark.parametrize(
    "value",
    [
        "!!!not-base64!!!",
        "dXNlcg",  # bad characters; bad padding
        base64.b64encode(b"no-colon-here").decode(),
        base64.b64encode(b":gmu_only-a-token").decode(),
        base64.b64encode(b"user-only:").decode(),
        base64.b64encode(b"\xff\xfe:\xff").decode(),  # not UTF-8
        base64.b64encode(b":").decode(),
        "YWJj ZGVm",  # empty user and token; inner space
    ],
)
def test_malformed_basic_is_401_never_500(server, value: str) -> None:
    base, _ = server
    resp = get(base, ITEMS, {"Authorization": f"Basic {value}", "accept": "application/json"})
    assert resp.status_code == 401, resp.text


def test_failed_basic_does_not_lock_but_a_locked_account_is_refused(
    server, agencies, db_url: str
) -> None:
    """Wrong tokens over Basic are treated like wrong bearer tokens: refused, not counted (a
    256-bit token cannot be guessed; counting would let anyone who knows a user name lock that
    user out). The login form's lockout still binds Basic: a locked account's tokens fail."""
    base, _ = server
    a: AgencyData = agencies[0]
    name, password, token = make_user(db_url, role="viewer", agency=a.code)
    for i in range(8):
        assert get(base, ITEMS, basic(name, f"gmu_wrong{i}")).status_code == 401
        assert get(base, ITEMS, basic(name, password)).status_code == 401
    assert failed_logins(db_url, name) == (0, None)
    assert get(base, ITEMS, basic(name, token)).status_code == 200
    # locked by the login form (5 wrong passwords): Basic with the live token is refused too
    other, other_password, other_token = make_user(db_url, role="viewer", agency=a.code)
    for _ in range(5):
        httpx.post(
            base + "/auth/login",
            data={"username": other, "password": "wrong-password!"},
            timeout=60,
        )
    assert failed_logins(db_url, other)[1] is not None
    assert get(base, ITEMS, basic(other, other_token)).status_code == 401


def test_challenges_and_openapi(server, db_url: str) -> None:
    base, _ = server
    api = get(base, ITEMS, {"accept": "application/json"})
    assert api.status_code == 401
    assert (
        api.headers["www-authenticate"]
        == 'Bearer realm="geomon", Basic realm="geomon", charset="UTF-8"'
    )
    # browsers' background fetches get no Basic challenge (no native password dialog)
    browser = get(base, ITEMS, {"accept": "application/json", "sec-fetch-mode": "cors"})
    assert browser.status_code == 401
    assert browser.headers["www-authenticate"] == 'Bearer realm="geomon"'
    token = make_user(db_url, role="admin", agency=None)[2]
    doc = get(base, "/openapi.json", {"Authorization": f"Bearer {token}"}).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["basicAuth"] == {**schemes["basicAuth"], "type": "http", "scheme": "basic"}
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    items = doc["paths"]["/ogc/collections/{collectionId}/items"]["get"]
    assert {"basicAuth": []} in items["security"] and {"bearerAuth": []} in items["security"]
    assert "security" not in doc["paths"]["/health"]["get"]
