"""The operator console's routes (team list, event actions), installed together so the app
factory needs one line for them (issue 20)."""

from __future__ import annotations

from fastapi import FastAPI

from api.routes import teams


def install(app: FastAPI) -> None:
    teams.install(app)
