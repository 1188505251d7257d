"""``geomon db``: schema migrations (Alembic) and partition upkeep."""

from __future__ import annotations

import typer

from geomon.cli.common import db_url, reported_errors, settings
from geomon.store.db import connect
from geomon.store.partitions import ensure_partitions

app = typer.Typer(
    help="Database schema: migrate up or down, make partitions.", no_args_is_help=True
)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the database up to REVISION (default: head) and create positions partitions."""
    from geomon.store import migrate  # Alembic is slow to import: only for db commands

    url = db_url()
    with reported_errors():
        migrate.upgrade(url, revision)
        if revision == "head":
            with connect(url, autocommit=True) as conn:
                made = ensure_partitions(conn, months_ahead=settings().db.partition_months_ahead)
            typer.echo(f"partitions created: {', '.join(made) or 'none needed'}")


@app.command()
def downgrade(
    revision: str = typer.Argument("base", help="Target revision (base = empty)."),
) -> None:
    """Migrate the database down to REVISION (default: base, an empty schema)."""
    from geomon.store import migrate

    with reported_errors():
        migrate.downgrade(db_url(), revision)


@app.command()
def current() -> None:
    """Print the database's current migration revision."""
    from geomon.store import migrate

    with reported_errors():
        migrate.current(db_url())


@app.command()
def partitions(
    months_ahead: int = typer.Option(None, help="Months ahead (default from settings)."),
) -> None:
    """Create the monthly positions partitions around now (run daily, e.g. from cron)."""
    ahead = settings().db.partition_months_ahead if months_ahead is None else months_ahead
    with reported_errors(), connect(db_url(), autocommit=True) as conn:
        made = ensure_partitions(conn, months_ahead=ahead)
    typer.echo(f"partitions created: {', '.join(made) or 'none needed'}")
