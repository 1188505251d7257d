"""Export a chosen set of an agency's records as a signed GeoPackage, and import a partner's
package with its signature checked and its provenance kept (docs/exchange.md).

Cases travel keyed by the exporter's ``source/external_id`` and land in the importing agency's
``cases`` under source ``x:<partner>`` — so a re-import of the same or a later package updates
them with history instead of doubling them; events land in ``exchange_events``. The import is one
transaction: a package whose rows the vocabularies refuse leaves nothing behind.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from geomon import case_import
from geomon.exchange import signed
from geomon.store import cases as case_store
from geomon.store import exchange as store
from geomon.store.case_import import Outcome

CASE_COLUMNS = tuple(c for c in case_store.EXPORT_COLUMNS if c not in ("id", "source"))
WHAT = ("cases", "events")


def _iso(v: Any) -> Any:
    return v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v


def export_package(
    conn: psycopg.Connection,
    path: Path,
    *,
    agency: str,
    key_pem: bytes,
    since: datetime,
    until: datetime,
    what: Sequence[str] = WHAT,
    kinds: list[str] | None = None,
    severities: list[str] | None = None,
    note: str = "",
) -> dict[str, Any]:
    """Write the agency's cases and/or events of ``[since, until)`` to ``path``, signed."""
    unknown = sorted(set(what) - set(WHAT))
    if unknown or not what:
        raise signed.PackageError(f"--what takes {', '.join(WHAT)}, not {', '.join(unknown)}")
    if until <= since:
        raise signed.PackageError("until must be after since")
    key = signed.load_private_key(key_pem)
    aid = store.agency_id(conn, agency)
    layers: dict[str, tuple[Sequence[str], list[dict[str, Any]]]] = {}
    if "cases" in what:
        rows = []
        for r in case_store.export_rows(conn, aid, since, until):
            row = dict(zip(case_store.EXPORT_COLUMNS, r, strict=True))
            row["external_id"] = f"{row.pop('source')}/{row['external_id']}"
            row.pop("id")
            row["occurred_at"] = _iso(row["occurred_at"])
            rows.append(row)
        layers["cases"] = (CASE_COLUMNS, rows)
    if "events" in what:
        events = store.export_events(conn, aid, since, until, kinds, severities)
        for e in events:
            e["occurred_at"] = _iso(e["occurred_at"])
        layers["events"] = (store.EVENT_COLUMNS, events)
    return signed.write_package(
        path, layers, agency=agency, exported_at=datetime.now(UTC), key=key, note=note
    )


@dataclass
class ImportSummary:
    partner: str
    fingerprint: str
    exported_at: str
    package_id: int | None  # None: this content was imported before, nothing changed
    cases: Outcome | None = None
    events_new: int = 0
    events_changed: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def verify(conn: psycopg.Connection, path: Path, *, into: str) -> tuple[dict[str, Any], Any]:
    """Check ``path`` against the keys agency ``into`` trusts for the package's signer."""
    manifest, _ = signed.read_manifest(path)
    partner = str(manifest.get("agency") or "")
    trusted = store.trusted_keys(conn, store.agency_id(conn, into), partner)
    return signed.verify_package(path, trusted)


def import_package(conn: psycopg.Connection, path: Path, *, into: str, by: str) -> ImportSummary:
    """Verify and import ``path`` for agency ``into`` in one transaction of ``conn``."""
    manifest, rows = verify(conn, path, into=into)
    partner = str(manifest["agency"])
    fp = signed.fingerprint(str(manifest["public_key"]))
    aid = store.agency_id(conn, into)
    counts = {name: len(r) for name, r in rows.items()}
    summary = ImportSummary(partner, fp, str(manifest["exported_at"]), None, counts=counts)
    with conn.transaction():
        package_id = store.record_package(
            conn,
            agency=aid,
            partner=partner,
            fp=fp,
            exported_at=datetime.fromisoformat(str(manifest["exported_at"])),
            content_sha256=signed.content_sha256(manifest),
            manifest=manifest,
            counts=counts,
            by=by,
        )
        if package_id is None:
            return summary
        summary.package_id = package_id
        if "events" in rows:
            events = [_event(e) for e in rows["events"]]
            summary.events_new, summary.events_changed = store.upsert_events(
                conn, agency=aid, partner=partner, package_id=package_id, rows=events
            )
        if "cases" in rows:
            result = case_import.import_rows(
                conn,
                enumerate(rows["cases"], start=1),
                agency_id=aid,
                source=f"x:{partner}",
                by=f"{by} (exchange package {package_id} from {partner})",
            )
            if result.outcome is None:
                shown = "; ".join(f"feature {n}: {why}" for n, why in result.bad[:10])
                raise signed.PackageError(
                    f"{len(result.bad)} case(s) refused, nothing imported: {shown}"
                )
            summary.cases = result.outcome
    return summary


def _event(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    attrs = out.pop("attrs", None)
    try:
        out["properties"] = json.loads(attrs) if attrs else {}
    except ValueError as exc:
        raise signed.PackageError(f"event {row.get('event_key')}: attrs is not JSON") from exc
    when = out.get("occurred_at")
    out["occurred_at"] = datetime.fromisoformat(str(when)) if when is not None else None
    if out["occurred_at"] is None or not out.get("event_key"):
        raise signed.PackageError(f"an event without a key or time: {row}")
    return out
