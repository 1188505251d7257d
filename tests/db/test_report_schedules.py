"""Scheduled reports end to end: ``geomon reports schedule add`` then ``run-due`` at Monday
07:30 in Bishkek makes the previous ISO week's BLO report for Dostuk, writes the PDF and XLSX
to the folder, mails them through a real local SMTP server (aiosmtpd) and posts them to a
webhook (a real HTTP server); the files are read back with pypdf and openpyxl. A due time runs
once; a failing webhook is recorded while the other deliveries still happen."""

from __future__ import annotations

import email
import io
import json
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from geomon.cli.reports import app
from tests.conftest import free_port
from tests.db.test_reports import Seeded, seeded  # noqa: F401

runner = CliRunner()
DUE = "2026-11-30T01:00:00+00:00"  # Monday 07:00 in Bishkek: the report of 2026-W48


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    received: list[tuple[str, bytes]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Content-Type"], body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hook", received
    srv.shutdown()


def _env(db_url: str, out: Path, smtp_port: int) -> dict[str, str]:
    return {"GEOMON_DB__URL": db_url, "GEOMON_REPORTS__OUT_DIR": str(out),
            "GEOMON_REPORTS__SMTP_HOST": "127.0.0.1", "GEOMON_REPORTS__SMTP_PORT": str(smtp_port),
            "GEOMON_REPORTS__SMTP_FROM": "geomon@example.org"}  # fmt: skip


def _add(env: dict[str, str], seeded: Seeded, name: str, hook: str) -> None:  # noqa: F811
    args = ["schedule", "add", "--agency", seeded.a, "--name", name, "--kind", "blo-weekly",
            "--cron", "0 7 * * 1", "--tz", "Asia/Bishkek", "--place", "Dostuk", "-f", "pdf",
            "-f", "xlsx", "--email", "duty@example.org", "--webhook", hook]  # fmt: skip
    r = runner.invoke(app, args, env=env)
    assert r.exit_code == 0, r.output


def _due_now(db_url: str, name: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE report_schedules SET next_run_at = %s WHERE name = %s", (DUE, name))


def test_a_due_schedule_writes_mails_and_posts_the_report(
    db_url: str, seeded: Seeded, smtp: tuple[int, Inbox],  # noqa: F811
    webhook: tuple[str, list[tuple[str, bytes]]], tmp_path: Path,
) -> None:  # fmt: skip
    from openpyxl import load_workbook
    from pypdf import PdfReader

    env = _env(db_url, tmp_path, smtp[0])
    hook, posted = webhook
    _add(env, seeded, "Dostuk weekly", hook)
    args = ["schedule", "add", "--agency", seeded.a, "--name", "x", "--kind", "blo-weekly",
            "--cron", "7 * *", "--place", "Dostuk"]  # fmt: skip
    bad = runner.invoke(app, args, env=env)
    assert bad.exit_code != 0 and "cron" in bad.output
    _due_now(db_url, "Dostuk weekly")
    r = runner.invoke(app, ["run-due", "--now", "2026-11-30T01:30:00Z"], env=env)
    assert r.exit_code == 0, r.output
    assert ": done;" in r.output
    folder = tmp_path / seeded.a / "Dostuk_weekly"
    assert sorted(p.name for p in folder.iterdir()) == [
        "Dostuk_weekly-2026-W48.pdf", "Dostuk_weekly-2026-W48.xlsx"]  # fmt: skip
    msg = smtp[1].messages[-1]
    assert msg["To"] == "duty@example.org"
    assert str(msg["Subject"]).startswith("Еженедельный отчёт ПКП: Достук (23 нояб. 2026")
    parts = {p.get_filename(): p for p in msg.iter_attachments()}
    pdf = PdfReader(io.BytesIO(parts["Dostuk_weekly-2026-W48.pdf"].get_content()))
    assert "Героин" in "".join(page.extract_text() for page in pdf.pages)
    wb = load_workbook(io.BytesIO(parts["Dostuk_weekly-2026-W48.xlsx"].get_content()))
    heroin = next(r for r in wb.worksheets[1].iter_rows(values_only=True) if r[1] == "Героин")
    assert heroin[2:4] == (3, pytest.approx(4.0))
    ctype, body = posted[-1]
    assert ctype.startswith("multipart/form-data")
    assert b"Dostuk weekly" in body and b"2026-11-22T18:00:00" in body
    assert b"%PDF" in body
    with psycopg.connect(db_url) as conn:
        run = conn.execute(
            "SELECT r.status, r.period_start, s.next_run_at FROM report_runs r JOIN "
            "report_schedules s ON s.id = r.schedule_id WHERE s.name = 'Dostuk weekly'"
        ).fetchall()
    assert len(run) == 1 and run[0][0] == "done"
    assert run[0][1].isoformat() == "2026-11-22T18:00:00+00:00"  # Monday 00:00 in Bishkek
    assert run[0][2].isoformat() == "2026-12-07T01:00:00+00:00"  # the next Monday 07:00
    # the same due time again (a second scheduler, a reset clock): no second run
    _due_now(db_url, "Dostuk weekly")
    again = runner.invoke(app, ["run-due", "--now", "2026-11-30T01:31:00Z"], env=env)
    assert again.exit_code == 0 and "run " not in again.output


def test_a_failing_webhook_is_recorded_and_the_rest_delivered(
    db_url: str, seeded: Seeded, smtp: tuple[int, Inbox], tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    env = _env(db_url, tmp_path, smtp[0])
    _add(env, seeded, "Dostuk broken hook", f"http://127.0.0.1:{free_port()}/nobody")
    _due_now(db_url, "Dostuk broken hook")
    before = len(smtp[1].messages)
    r = runner.invoke(app, ["run-due", "--now", "2026-11-30T01:30:00Z"], env=env)
    assert r.exit_code == 0, r.output
    assert "failed: webhook:" in r.output
    assert len(smtp[1].messages) == before + 1
    assert len(list((tmp_path / seeded.a / "Dostuk_broken_hook").iterdir())) == 2
    listed = runner.invoke(app, ["schedule", "list"], env=env)
    names = [json.loads(line)["name"] for line in listed.output.splitlines()]
    assert "Dostuk broken hook" in names
    gone = runner.invoke(app, ["schedule", "remove", "--agency", seeded.a, "--name",
                               "Dostuk broken hook"], env=env)  # fmt: skip
    assert gone.exit_code == 0
