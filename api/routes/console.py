"""The operator console's routes (team list, event actions), installed together so the app
factory needs one line for them (issue 20)."""

from __future__ import annotations

from fastapi import FastAPI

from api.routes import admin, dashboard, event_desk, teams


def install(app: FastAPI) -> None:
    teams.install(app)
    event_desk.install(app)
    dashboard.install(app)
    admin.install(app)
