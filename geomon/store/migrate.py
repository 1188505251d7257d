"""Running the Alembic migrations in migrations/ against a database URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from geoalchemy2 import alembic_helpers

import migrations


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy URL for a libpq URL (psycopg 3 driver)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """The libpq URL for a SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def current(url: str) -> None:
    command.current(alembic_config(url), verbose=True)


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Alembic's object filter: PostGIS's own tables and the monthly partitions made by
    geomon.store.partitions are not part of the metadata."""
    if type_ == "table" and (name == "spatial_ref_sys" or (name or "").startswith("positions_")):
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)
