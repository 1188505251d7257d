"""Helpers shared by CLI commands: settings, the database URL, error reporting."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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
