"""A bounded schemathesis run against the live app (uvicorn on a free port, real PostGIS,
seeded layers, an analyst's token): no 5xx, and every response matches the OpenAPI document
(status codes, content types, bodies). The live stream never ends and the auth routes would
lock our own user out, so those are left out."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from geomon.settings import DbSettings, Settings
from tests.api.seed import auth_headers, seed_layers
from tests.conftest import create_database, drop_database, free_port, prepare_database

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# Failures in other helpers' routes, reported to their owners; they make this test xfail
# (not pass) until fixed, and any other failure fails it.
KNOWN: dict[str, str] = {}


@pytest.fixture(scope="module")
def own_db(pg_base_url: str) -> Iterator[str]:
    """A database of its own: the generated writes must not disturb other tests' counts."""
    url = create_database(pg_base_url, "geomon_schemathesis")
    try:
        prepare_database(url)
        with psycopg.connect(url) as conn:
            seed_layers(conn)
        yield url
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def live_server(own_db: str) -> Iterator[tuple[str, dict[str, str]]]:
    db_url = own_db
    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(
            create_app(Settings(db=DbSettings(url=db_url))),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", auth_headers(db_url, role="analyst", agency="KGZ-BS")
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def api_schema(live_server: tuple[str, dict[str, str]]) -> schemathesis.schemas.BaseSchema:
    base, headers = live_server
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", headers=headers)
    return schema.exclude(path_regex=r"^/(auth/|login|api/v1/live)")


def test_api_conforms(
    api_schema: schemathesis.schemas.BaseSchema, live_server: tuple[str, dict[str, str]]
) -> None:
    base, headers = live_server
    failures: list[str] = []
    known: list[str] = []
    calls = 0
    for result in api_schema.get_all_operations():
        op = result.ok()

        @given(case=op.as_strategy())
        @settings(
            max_examples=5,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(base_url=base, headers=headers, checks=CHECKS, timeout=20)

        try:
            run()
        except BaseException as exc:
            (known if op.label in KNOWN else failures).append(f"{op.label}: {str(exc)[:600]}")
    print(
        f"schemathesis: {calls} calls over {len(list(api_schema.get_all_operations()))} operations"
    )
    assert not failures, "\n\n".join(failures)
    if known:
        pytest.xfail(
            "known failures in other helpers' routes: "
            + "; ".join(f"{k.split(':')[0]} ({KNOWN[k.split(':')[0]]})" for k in known)
        )


# The CLI with every check it has, stateful phase included, except "a schema-valid request is
# accepted": a schema cannot say "until after since" or "a tile x below 2^z", and those 422s
# are the API doing its job. Bounded here (8 examples per operation); GEOMON_SLOW=1 runs 100,
# GEOMON_SCHEMATHESIS_EXAMPLES=N any other number (issue 14 asks for 200: on the shared 2-core
# host at load 13-15 that run had not finished after 38 min; it found a 500 on
# /watchlists/import and an undocumented 400 on /surfaces, both fixed).
CLI_EXAMPLES = int(
    os.environ.get(
        "GEOMON_SCHEMATHESIS_EXAMPLES", 100 if os.environ.get("GEOMON_SLOW") == "1" else 8
    )
)


def test_cli_all_checks(live_server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    base, headers = live_server
    cli = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json",
        *(a for k, v in headers.items() for a in ("-H", f"{k}: {v}")),
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "--max-examples", str(CLI_EXAMPLES), "--seed", "20261207",
        "--exclude-path-regex", "^/(auth/|login|api/v1/live)",
        "--workers", "1", "--no-color", "--request-timeout", "20",
    ]  # fmt: skip
    # in a temp folder: the CLI keeps its cache (.schemathesis/) in the working directory
    run = subprocess.run(
        cli, capture_output=True, text=True, timeout=900 + 60 * CLI_EXAMPLES, cwd=tmp_path
    )
    tail = run.stdout[-6000:]
    assert run.returncode == 0, tail
    assert "Tested:" in run.stdout, tail
