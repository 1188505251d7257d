"""Scratch databases on a server: made for a test session or a benchmark, dropped after.

One implementation for tests/conftest.py and the benches in bench/ (each needs a fresh
database with PostGIS on the server its base URL names).
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def with_database(url: str, dbname: str) -> str:
    """``url`` with its database replaced (URLs stay URLs: Alembic needs one)."""
    return urlunsplit(urlsplit(url)._replace(path="/" + dbname))


def create_database(base_url: str, prefix: str = "geomon_scratch") -> str:
    """A new empty database with PostGIS next to ``base_url``'s; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(base_url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url


def drop_database(base_url: str, url: str, *, attempts: int = 8) -> None:
    """Drop the database of ``url``, retrying while its last sessions close (a backend of
    another role, such as a listener's worker, can refuse the forced termination briefly)."""
    name = urlsplit(url).path.lstrip("/")
    for attempt in range(attempts):
        try:
            with psycopg.connect(base_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            if attempt == attempts - 1:
                raise
            time.sleep(1.0 + attempt)
