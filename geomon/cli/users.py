"""``geomon users``, ``geomon tokens``, ``geomon agencies`` and ``geomon db create-app-role``.

There are no default credentials: the first admin comes from ``geomon users create-admin``,
which prints a one-time password (to be changed at first login); secrets are printed once and
only their hashes are stored.
"""

from __future__ import annotations

from datetime import timedelta

import typer

from geomon.cli import db as db_cli
from geomon.cli.common import db_url, fail, reported_errors, settings
from geomon.credentials import (
    USER_TOKEN_PREFIX,
    generate_password,
    hash_password,
    new_ingest_token,
    new_token,
    token_digest,
)
from geomon.store.db import connect
from geomon.store.devices import set_device_token
from geomon.store.roles import create_app_login_role, url_for_role
from geomon.store.users import create_token, create_user, list_users, set_password, share, unshare

users_app = typer.Typer(help="User accounts (viewer, analyst, admin).", no_args_is_help=True)
tokens_app = typer.Typer(
    help="API tokens for users and ingest tokens for devices.", no_args_is_help=True
)
agencies_app = typer.Typer(help="What agencies share with each other.", no_args_is_help=True)


def _new_user(name: str, role: str, agency: str | None, one_time: bool) -> None:
    password = generate_password()
    with reported_errors(), connect(db_url()) as conn:
        user = create_user(
            conn,
            name=name,
            password_hash=hash_password(password),
            role=role,
            agency=agency,
            must_change_password=one_time,
        )
    typer.echo(f"user {user.name} ({user.role}, agency {user.agency_code or '-'}) created")
    typer.echo(f"one-time password (shown once): {password}")


@users_app.command("create-admin")
def create_admin(
    name: str = typer.Argument(..., help="User name of the new admin."),
    agency: str = typer.Option(None, "--agency", help="Agency code (optional for admins)."),
) -> None:
    """Create an admin and print a one-time password that must be changed at first login."""
    _new_user(name, "admin", agency, one_time=True)


@users_app.command("create")
def create(
    name: str = typer.Argument(..., help="User name."),
    role: str = typer.Option(..., "--role", help="viewer | analyst | admin"),
    agency: str = typer.Option(None, "--agency", help="Agency code (required unless admin)."),
) -> None:
    """Create a user and print a one-time password (changed at first login)."""
    _new_user(name, role, agency, one_time=True)


@users_app.command("reset-password")
def reset_password(name: str = typer.Argument(..., help="User name.")) -> None:
    """Give a user a new one-time password (also unlocks the account)."""
    password = generate_password()
    with reported_errors(), connect(db_url()) as conn:
        set_password(conn, name, hash_password(password), one_time=True)
    typer.echo(f"one-time password for {name} (shown once): {password}")


@users_app.command("list")
def list_() -> None:
    """List users: id, name, role, agency, state."""
    with reported_errors(), connect(db_url()) as conn:
        for u in list_users(conn):
            state = (
                "disabled"
                if u.disabled
                else f"locked until {u.locked_until:%Y-%m-%d %H:%M}"
                if u.locked_until
                else "active"
            )
            typer.echo(f"{u.id}\t{u.name}\t{u.role}\t{u.agency_code or '-'}\t{state}")


@tokens_app.command("create")
def create_token_cmd(
    user: str = typer.Option(None, "--user", help="User name the token acts as."),
    device: str = typer.Option(
        None, "--device", help="Device uid: a new ingest token, replacing the old one."
    ),
    ttl_days: int = typer.Option(
        None,
        "--ttl-days",
        min=1,
        max=1825,
        help="Lifetime of a user token in days (default GEOMON_AUTH__TOKEN_TTL_DAYS).",
    ),
    label: str = typer.Option("", "--label", help="Free text: what a user token is for."),
) -> None:
    """Create an API token (--user) or a device's ingest token (--device); printed once.

    A device has one ingest token, kept as an argon2 hash in the device registry, the one the
    listeners check (the same as ``geomon devices add --token`` and the admin page). It does not
    expire; a new one replaces it, and deactivating the device stops it.
    """
    if (user is None) == (device is None):
        fail("give exactly one of --user NAME or --device UID")
    if device is not None:
        if ttl_days is not None:
            fail("--ttl-days is for user tokens: a device's ingest token lasts until replaced")
        token, token_hash = new_ingest_token()
        with reported_errors(), connect(db_url()) as conn:
            set_device_token(conn, device, token_hash)
        typer.echo(f"ingest token for device {device} (shown once; the old one no longer works):")
        typer.echo(token)
        return
    days = ttl_days or settings().auth.token_ttl_days
    token = new_token(USER_TOKEN_PREFIX)
    with reported_errors(), connect(db_url()) as conn:
        expires = create_token(
            conn, digest=token_digest(token), ttl=timedelta(days=days), user=user, label=label
        )
    typer.echo(f"token for user {user}, expires {expires:%Y-%m-%d %H:%M %Z} (shown once):")
    typer.echo(token)


@agencies_app.command("share")
def share_cmd(
    from_agency: str = typer.Option(..., "--from", help="Agency code that shares its data."),
    to_agency: str = typer.Option(..., "--to", help="Agency code that may read it."),
    scope: str = typer.Option(
        "all",
        "--scope",
        help="all | positions | observations | incidents | zones | events | analysis",
    ),
    revoke: bool = typer.Option(False, "--revoke", help="Remove this share instead."),
) -> None:
    """Let agency TO read agency FROM's rows of SCOPE (or --revoke it)."""
    with reported_errors(), connect(db_url()) as conn:
        if revoke:
            n = unshare(conn, from_agency=from_agency, to_agency=to_agency, scope=scope)
            typer.echo(f"removed {n} share(s)")
            return
        share(conn, from_agency=from_agency, to_agency=to_agency, scope=scope)
    typer.echo(f"{to_agency} may now read {from_agency}'s {scope}")


def create_app_role(
    name: str = typer.Argument(..., help="LOGIN role to create (lower case, e.g. geomon_api)."),
) -> None:
    """Create a LOGIN role in the geomon_app group with a generated password and print the
    URL to set as GEOMON_DB__APP_URL (run as the database owner, after `geomon db upgrade`)."""
    password = generate_password()
    url = db_url()
    with reported_errors(), connect(url) as conn:
        create_app_login_role(conn, name, password)
    typer.echo(f"role {name} is a member of geomon_app; set (shown once):")
    typer.echo(f"GEOMON_DB__APP_URL={url_for_role(url, name, password)}")


def register(app: typer.Typer) -> None:
    """Add the access-control commands to the main CLI."""
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(agencies_app, name="agencies")
    db_cli.app.command("create-app-role")(create_app_role)
