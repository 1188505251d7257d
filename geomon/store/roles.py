"""Database roles: LOGIN roles for the API that are members of the ``geomon_app`` group.

``geomon_app`` (created by migration 0003) holds the grants; it is neither owner nor superuser,
so row-level security always applies to it. Roles are cluster-wide.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from geomon.errors import InvalidRequest

APP_GROUP = "geomon_app"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def create_app_login_role(conn: psycopg.Connection, name: str, password: str) -> None:
    """Create (or reset the password of) LOGIN role ``name`` and make it a geomon_app member."""
    if not _ROLE_NAME.match(name) or name == APP_GROUP:
        raise InvalidRequest(f"role name {name!r}: use lower-case letters, digits and _")
    row = conn.execute(
        "SELECT rolsuper OR rolbypassrls OR rolcreatedb OR rolcreaterole FROM pg_roles "
        "WHERE rolname = %s",
        (name,),
    ).fetchone()
    if row is None:
        conn.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD {}"
            ).format(sql.Identifier(name), sql.Literal(password))
        )
    elif row[0]:
        raise InvalidRequest(f"role {name!r} exists with privileges an API role must not have")
    else:  # a non-superuser owner may not name the superuser attributes, even to deny them
        conn.execute(
            sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(APP_GROUP), sql.Identifier(name)))


def drop_login_role(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def url_for_role(owner_url: str, name: str, password: str) -> str:
    """``owner_url`` with its user and password replaced (same host, port and database)."""
    parts = urlsplit(owner_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(name, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))
