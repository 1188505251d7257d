"""``GET/PUT /api/v1/me/preferences``: the caller's console language and time zone."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, Field

from api.auth import CurrentPrincipal, auth_pool
from api.i18n import page_locale
from geomon.errors import InvalidRequest
from geomon.i18n import available_locales
from geomon.i18n.zones import COUNTRY_TIME_ZONES, is_time_zone
from geomon.store.user_prefs import set_user_prefs, user_prefs

router = APIRouter(tags=["auth"])


class PreferencesIn(BaseModel):
    locale: str | None = Field(None, max_length=16, description="a language code of `locales`")
    time_zone: str | None = Field(
        None, max_length=64, description="an IANA zone, e.g. Asia/Bishkek"
    )


async def _answer(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    async with auth_pool(request).connection(timeout=5) as conn:
        prefs = await user_prefs(conn, principal.user_id)
    shown = await page_locale(request)
    return {
        "locale": prefs.locale,
        "time_zone": prefs.time_zone,
        "effective_locale": shown.locale,
        "effective_time_zone": shown.time_zone,
        "locales": list(available_locales()),
        "agency_time_zones": sorted(set(COUNTRY_TIME_ZONES.values())),
    }


@router.get("/me/preferences", summary="The caller's console language and time zone")
async def get_preferences(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    return await _answer(request, principal)


@router.put("/me/preferences", summary="Set the caller's console language and/or time zone")
async def put_preferences(
    request: Request, body: PreferencesIn, principal: CurrentPrincipal
) -> dict[str, Any]:
    if body.locale is not None and body.locale not in available_locales():
        raise InvalidRequest(
            f"locale {body.locale!r} has no catalogue; one of {list(available_locales())}"
        )
    if body.time_zone is not None and not is_time_zone(body.time_zone):
        raise InvalidRequest(f"time_zone {body.time_zone!r} is not an IANA zone name")
    async with auth_pool(request).connection(timeout=5) as conn, conn.transaction():
        await set_user_prefs(conn, principal.user_id, locale=body.locale, time_zone=body.time_zone)
    return await _answer(request, principal)


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
