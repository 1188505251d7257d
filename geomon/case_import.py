"""Import a case file of any size: stream, validate each row, COPY, merge once.

Rows come from :func:`geomon.case_files.read_file` (CSV streamed), each is checked by
:func:`geomon.cases.normalise` and a repeated ``external_id`` is a bad row too. Good rows go
straight into the COPY of :class:`geomon.store.case_import.Staging`; once one row is bad and
``skip_bad`` is off, the rest are only checked (every bad row is still reported) and the
transaction is rolled back: nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from geomon import case_files, cases
from geomon.store import case_import
from geomon.store import cases as store


@dataclass
class ImportResult:
    outcome: case_import.Outcome | None  # None: refused (bad rows, all-or-nothing)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line/feature, reason)


class _Refused(Exception):
    """Raised inside the transaction so that it rolls back."""


def import_file(
    conn: psycopg.Connection,
    path: Path,
    *,
    agency_id: int,
    source: str,
    by: str,
    skip_bad: bool = False,
    vocab: cases.Vocab | None = None,
) -> ImportResult:
    """Import ``path`` in one transaction of ``conn``; ``outcome`` None when refused."""
    return import_rows(
        conn,
        case_files.read_file(path),
        agency_id=agency_id,
        source=source,
        by=by,
        skip_bad=skip_bad,
        vocab=vocab,
    )


def import_rows(
    conn: psycopg.Connection,
    rows: Iterable[tuple[int, dict[str, Any]]],
    *,
    agency_id: int,
    source: str,
    by: str,
    skip_bad: bool = False,
    vocab: cases.Vocab | None = None,
) -> ImportResult:
    """:func:`import_file` for rows already read: ``(line or feature number, raw row)``."""
    vocab = vocab or store.vocab_sync(conn)
    bad: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    try:
        with conn.transaction(), case_import.Staging(conn) as staging:
            for number, raw in rows:
                try:
                    if case_files.BAD in raw:
                        raise cases.CaseError(raw[case_files.BAD])
                    case = cases.normalise(raw, vocab)
                    first = seen.setdefault(case["external_id"], number)
                    if first != number:
                        raise cases.CaseError(
                            f"external_id {case['external_id']!r} repeats line {first}"
                        )
                except cases.CaseError as exc:
                    bad.append((number, str(exc)))
                    continue
                if not bad or skip_bad:  # all or nothing: after one bad row, only check
                    staging.add(number, case)
            if bad and not skip_bad:
                staging.close()
                raise _Refused
            outcome = staging.merge(agency_id=agency_id, source=source, by=by)
    except _Refused:
        return ImportResult(None, bad)
    return ImportResult(outcome, bad)
