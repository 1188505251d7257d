"""``geomon exchange``: signed GeoPackages between national instances (docs/exchange.md).

Runs as the database owner; ``--agency`` names the agency that exports, trusts or imports.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer

from geomon.cli.common import db_url, fail, parse_utc, reported_errors
from geomon.exchange import package, signed
from geomon.store import exchange as store
from geomon.store.db import connect

app = typer.Typer(help="Signed exchange packages between instances.", no_args_is_help=True)
trust_app = typer.Typer(help="The partner keys an agency trusts.", no_args_is_help=True)
app.add_typer(trust_app, name="trust")
Opt = typer.Option


@app.command("keygen")
def keygen(
    out: Annotated[Path, Opt(help="Where to write the new private key (PEM, mode 0600).")],
) -> None:
    """Make this instance's Ed25519 signing key; prints the public key partners must trust."""
    if out.exists():
        fail(f"{out} exists: refusing to overwrite a signing key")
    pem = signed.new_private_key_pem()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public = signed.public_key_text(signed.load_private_key(pem))
    typer.echo(f"public key (give it to partners): {public}")
    typer.echo(f"fingerprint: {signed.fingerprint(public)}")


@app.command("export")
def export(
    agency: Annotated[str, Opt(help="Exporting agency code (whose records go out).")],
    key: Annotated[Path, Opt(help="The private key file from `geomon exchange keygen`.")],
    since: Annotated[str, Opt(help="Window start, ISO 8601.")],
    until: Annotated[str, Opt(help="Window end, ISO 8601.")],
    out: Annotated[Path, Opt(help="The GeoPackage to write (.gpkg).")],
    what: Annotated[str, Opt(help="cases,events (comma-separated).")] = "cases,events",
    kind: Annotated[list[str] | None, Opt(help="Only events of this kind (repeat).")] = None,
    severity: Annotated[
        list[str] | None, Opt(help="Only events of this severity (repeat).")
    ] = None,
    note: Annotated[str, Opt(help="Free text carried in the signed manifest.")] = "",
) -> None:
    """Write the agency's cases and events of a window as a signed GeoPackage."""
    start, end = parse_utc(since), parse_utc(until)
    assert start is not None and end is not None
    with reported_errors(), connect(db_url()) as conn:
        manifest = package.export_package(
            conn,
            out,
            agency=agency,
            key_pem=key.read_bytes(),
            since=start,
            until=end,
            what=[w.strip() for w in what.split(",") if w.strip()],
            kinds=kind,
            severities=severity,
            note=note,
        )
    layers = ", ".join(f"{n}: {m['rows']}" for n, m in manifest["layers"].items())
    typer.echo(
        f"{out}: {layers}; signed by {agency} ({signed.fingerprint(manifest['public_key'])})"
    )


@app.command("verify")
def verify(
    path: Annotated[Path, typer.Argument(help="The package (.gpkg).")],
    agency: Annotated[str, Opt(help="The agency whose trusted keys decide.")],
) -> None:
    """Check a package's signature and content without importing it."""
    with reported_errors(), connect(db_url()) as conn:
        manifest, rows = package.verify(conn, path, into=agency)
    counts = ", ".join(f"{n}: {len(r)}" for n, r in rows.items())
    typer.echo(f"valid: signed by {manifest['agency']} at {manifest['exported_at']}; {counts}")


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="The package (.gpkg).")],
    agency: Annotated[str, Opt(help="The importing agency (owns what is imported).")],
    by: Annotated[str | None, Opt(help="Who imports (default: the OS user).")] = None,
) -> None:
    """Verify and import a partner's package (one transaction; a re-import changes nothing)."""
    with reported_errors(), connect(db_url()) as conn:
        s = package.import_package(conn, path, into=agency, by=by or getpass.getuser())
    if s.package_id is None:
        typer.echo(f"already imported: this package from {s.partner} changes nothing")
        return
    cases = s.cases
    typer.echo(
        f"package {s.package_id} from {s.partner} (key {s.fingerprint}, exported "
        f"{s.exported_at}): cases new {cases.created if cases else 0}, updated "
        f"{cases.updated if cases else 0}, unchanged {cases.unchanged if cases else 0}; "
        f"events new {s.events_new}, changed {s.events_changed}"
    )


@trust_app.command("add")
def trust_add(
    agency: Annotated[str, Opt(help="The agency that trusts the key.")],
    partner: Annotated[str, Opt(help="The partner agency's code (as in its packages).")],
    key: Annotated[str, Opt(help="The partner's public key (base64 or PEM, or @FILE).")],
    by: Annotated[str | None, Opt(help="Who adds it (default: the OS user).")] = None,
) -> None:
    """Trust a partner's public signing key."""
    text = Path(key[1:]).read_text() if key.startswith("@") else key
    with reported_errors(), connect(db_url()) as conn:
        public = signed.public_key_text(signed.parse_public_key(text))
        fp = signed.fingerprint(public)
        store.add_partner(
            conn, store.agency_id(conn, agency), partner, public, fp, by or getpass.getuser()
        )
    typer.echo(f"{agency} trusts {partner}'s key {fp}")


@trust_app.command("list")
def trust_list(agency: Annotated[str, Opt(help="Agency code.")]) -> None:
    """The keys an agency trusts (revoked ones marked)."""
    with reported_errors(), connect(db_url()) as conn:
        rows = store.partners(conn, store.agency_id(conn, agency))
    for p in rows:
        state = f"revoked {p.revoked_at:%Y-%m-%d}" if p.revoked_at else "trusted"
        typer.echo(f"{p.partner}\t{p.fingerprint}\t{state}\tadded by {p.added_by}")


@trust_app.command("revoke")
def trust_revoke(
    agency: Annotated[str, Opt(help="Agency code.")],
    fingerprint: Annotated[str, Opt(help="The key's fingerprint (trust list).")],
) -> None:
    """Stop trusting a key: its packages no longer verify."""
    with reported_errors(), connect(db_url()) as conn:
        store.revoke_partner(conn, store.agency_id(conn, agency), fingerprint)
    typer.echo(f"revoked {fingerprint}")
