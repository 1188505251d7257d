"""The console's admin pages: users (create, role, agency, lock, reset password) and devices
(register, a new ingest token). Admin role only; zones are drawn through /api/v1/zones.

A created user's one-time password and a device's ingest token are in the answer once and
never again (only argon2id hashes are stored). Every change is a POST/PATCH, so the audit
middleware logs it; the route adds the id it changed (never a secret) to the audit row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Request
from pydantic import BaseModel, Field

from api.deps import Admin, ReadConn, WriteConn, agency_of
from geomon.credentials import (
    MIN_PASSWORD_LENGTH,
    generate_password,
    hash_password,
    new_ingest_token,
)
from geomon.store import admin as store

router = APIRouter(prefix="/admin", tags=["admin"])
UserId = Annotated[int, Path(ge=1, le=2**31 - 1, description="User id.")]
DeviceId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Device id.")]
Role = Literal["viewer", "analyst", "admin"]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\s\x00]+$")]


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def _user(row: dict[str, Any]) -> dict[str, Any]:
    out = _json(row)
    locked = row["locked_until"]
    out["locked"] = locked is not None and locked > datetime.now(locked.tzinfo)
    out["locked_until"] = None if locked is None or locked.year > 9000 else locked.isoformat()
    return out


def _audit(request: Request, **values: Any) -> None:
    request.state.audit_params = values


class UserIn(BaseModel):
    name: Name
    role: Role
    agency: str | None = Field(default=None, max_length=64, description="Agency code.")
    password: str | None = Field(
        default=None,
        min_length=MIN_PASSWORD_LENGTH,
        max_length=200,
        description="Omit for a generated one-time password (in the answer, once).",
    )


class UserPatch(BaseModel):
    role: Role | None = None
    agency: str | None = Field(default=None, max_length=64)
    locked: bool | None = Field(default=None, description="true: locked until unlocked")
    disabled: bool | None = None


class DeviceIn(BaseModel):
    uid: Name
    kind: Literal["tracker", "phone", "serial-gps", "sensor"]
    name: str | None = Field(default=None, max_length=200)
    token: bool = Field(default=True, description="Generate an ingest token (shown once).")


@router.get("/users", summary="Users the admin manages")
async def users(conn: ReadConn, who: Admin) -> dict[str, Any]:
    return {"users": [_user(r) for r in await store.list_users(conn, who.agency_id)]}


@router.post("/users", status_code=201, summary="Create a user (one-time password)")
async def create_user(
    body: UserIn, conn: WriteConn, who: Admin, request: Request
) -> dict[str, Any]:
    password = body.password or generate_password()
    row = await store.create_user(
        conn,
        name=body.name,
        role=body.role,
        agency=body.agency,
        password_hash=hash_password(password),
        scope_agency=who.agency_id,
    )
    _audit(request, user_id=row["id"], name=row["name"], role=row["role"])
    return {**_user(row), "password": None if body.password else password}


@router.patch("/users/{user_id:int}", summary="Change a user's role or agency, lock, disable")
async def update_user(
    body: UserPatch, conn: WriteConn, who: Admin, user_id: UserId, request: Request
) -> dict[str, Any]:
    row = await store.update_user(
        conn, user_id, scope_agency=who.agency_id, **body.model_dump(exclude_none=True)
    )
    _audit(request, **body.model_dump(exclude_none=True))
    return _user(row)


@router.post("/users/{user_id:int}/password", summary="Reset a password (one-time, shown once)")
async def reset_password(conn: WriteConn, who: Admin, user_id: UserId) -> dict[str, Any]:
    password = generate_password()
    row = await store.reset_password(
        conn, user_id, password_hash=hash_password(password), scope_agency=who.agency_id
    )
    return {**_user(row), "password": password}


@router.get("/devices", summary="Devices of the admin's agency (and shared ones)")
async def devices(conn: ReadConn, who: Admin) -> dict[str, Any]:
    return {"devices": [_json(r) for r in await store.list_devices(conn)]}


@router.post("/devices", status_code=201, summary="Register a device (ingest token shown once)")
async def register_device(
    body: DeviceIn, conn: WriteConn, who: Admin, request: Request
) -> dict[str, Any]:
    secret, digest = new_ingest_token() if body.token else (None, None)
    row = await store.register_device(
        conn,
        uid=body.uid,
        kind=body.kind,
        name=body.name,
        agency_id=agency_of(who),
        token_hash=digest,
    )
    _audit(request, device_id=row["id"], uid=row["uid"])
    return {**_json(row), "token": secret}


@router.post("/devices/{device_id:int}/token", summary="A new ingest token (the old one stops)")
async def new_device_token(conn: WriteConn, who: Admin, device_id: DeviceId) -> dict[str, Any]:
    secret, digest = new_ingest_token()
    row = await store.set_device_token(conn, device_id, digest)
    return {**_json(row), "token": secret}


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
