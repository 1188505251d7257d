"""Helpers shared by CLI commands: settings, the database URL, error reporting."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import typer

from geomon.errors import GeomonError
from geomon.settings import Settings
from geomon.store.db import require_url


def settings() -> Settings:
    return Settings()


def db_url() -> str:
    try:
        return require_url(settings().db)
    except GeomonError as exc:
        fail(str(exc))
        raise  # unreachable


def fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn geomon's own errors into a one-line message and a non-zero exit."""
    try:
        yield
    except GeomonError as exc:
        fail(str(exc))


def parse_utc(text: str | None) -> datetime | None:
    """An ISO 8601 time option as a tz-aware datetime (UTC when it has no offset)."""
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)
