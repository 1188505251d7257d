"""Delivering report files: into a folder (written atomically), by e-mail through an SMTP
server (smtplib; attachments with their media types), and to a webhook (one multipart POST
with the files and a JSON part describing the run). Blocking I/O: the scheduler calls these
in a worker thread."""

from __future__ import annotations

import json
import os
import re
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from geomon.errors import ConfigError
from geomon.settings import ReportSettings

_UNSAFE = re.compile(r"[^\w.-]+", re.UNICODE)


@dataclass(frozen=True)
class ReportFile:
    name: str
    media_type: str
    data: bytes


def safe_name(text: str) -> str:
    """A file or folder name from free text (letters, digits, dot, dash; Cyrillic kept)."""
    return _UNSAFE.sub("_", text).strip("._") or "report"


def write_files(folder: Path, files: list[ReportFile]) -> list[str]:
    """Write each file to ``folder`` through a temporary name and a rename: a reader never
    sees half a PDF."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for f in files:
        target = folder / f.name
        tmp = folder / f".{f.name}.part"
        tmp.write_bytes(f.data)
        os.replace(tmp, target)
        out.append(str(target))
    return out


def send_email(settings: ReportSettings, to: list[str], subject: str, body: str,
               files: list[ReportFile]) -> str:  # fmt: skip
    """Send one message with the files attached; returns what the server said."""
    if not settings.smtp_host or not settings.smtp_from:
        raise ConfigError("e-mail needs GEOMON_REPORTS__SMTP_HOST and GEOMON_REPORTS__SMTP_FROM")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.smtp_from, ", ".join(to), subject
    msg.set_content(body)
    for f in files:
        maintype, _slash, subtype = f.media_type.split(";")[0].partition("/")
        msg.add_attachment(f.data, maintype=maintype, subtype=subtype, filename=f.name)
    data = msg.as_bytes()
    if len(data) > settings.max_attachment_bytes:
        raise ConfigError(
            f"the message is {len(data)} bytes, over GEOMON_REPORTS__MAX_ATTACHMENT_BYTES"
        )
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        refused = smtp.send_message(msg)
    if refused:
        return f"refused: {', '.join(sorted(refused))}"
    return "sent"


def post_webhook(settings: ReportSettings, url: str, meta: dict[str, Any],
                 files: list[ReportFile]) -> int:  # fmt: skip
    """POST multipart/form-data: a ``meta`` JSON part and one ``file`` part per file."""
    parts = [("file", (f.name, f.data, f.media_type)) for f in files]
    r = httpx.post(url, data={"meta": json.dumps(meta, ensure_ascii=False, default=str)},
                   files=parts, timeout=settings.webhook_timeout_s)  # fmt: skip
    r.raise_for_status()
    return r.status_code
