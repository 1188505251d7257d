"""Login form, login/logout, password change and "who am I".

``POST /auth/login`` takes form fields ``username``, ``password`` (and optionally ``next``),
sets the HttpOnly ``geomon_session`` cookie (a server-side session row, so logout and expiry
are real) and redirects to ``next`` for browsers or answers JSON for scripts.
"""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from api.auth import SESSION_COOKIE, CurrentPrincipal, auth_pool
from api.i18n import request_locale
from api.state import app_state
from geomon.credentials import SESSION_PREFIX, hash_password, new_token, token_digest
from geomon.errors import AuthError
from geomon.i18n import N_, available_locales, language_name, translator
from geomon.store.sessions import change_password, check_login, close_session, open_session

log = logging.getLogger(__name__)
router = APIRouter(tags=["auth"])

FAILED = N_("invalid username or password, or the account is locked")
_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}}
label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.4rem;box-sizing:border-box}}
button{{margin-top:1rem;padding:.5rem 1rem}}.err{{color:#b00020}}nav a{{margin-right:.6rem}}</style>
</head><body><h1>geomon</h1>{error}<form method="post" action="/auth/login">
<input type="hidden" name="next" value="{next}">
<label for="username">{user}</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">{password}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{sign_in}</button></form><nav>{languages}</nav></body></html>"""


_PASSWORD_FORM = """<h2>{heading}</h2>{error}
<form method="post" action="/auth/password"><input type="hidden" name="next" value="{next}">
<label for="current">{current}</label>
<input id="current" name="current" type="password" autocomplete="current-password" required>
<label for="new">{new}</label>
<input id="new" name="new" type="password" autocomplete="new-password" minlength="12" required>
<button type="submit">{submit}</button></form></body></html>"""


def safe_next(target: str | None) -> str:
    """Only same-site absolute paths: never another origin (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/map"
    return target


def _language_links(next_url: str, current: str) -> str:
    return "".join(
        f'<a href="/login?lang={c}&amp;next={html.escape(quote(next_url))}" hreflang="{c}"'
        f"{' aria-current=true' if c == current else ''}>{html.escape(language_name(c))}</a>"
        for c in available_locales()
    )


def login_page(next_url: str, error: str = "", status: int = 200) -> HTMLResponse:
    """The sign-in form in the request's language (``?lang=``, else Accept-Language)."""
    locale = request_locale()
    _ = translator(locale)
    err = f'<p class="err" role="alert">{html.escape(_(error))}</p>' if error else ""
    target = safe_next(next_url)
    return HTMLResponse(
        _PAGE.format(
            lang=locale,
            title=html.escape(_("geomon: sign in")),
            user=html.escape(_("User")),
            password=html.escape(_("Password")),
            sign_in=html.escape(_("Sign in")),
            languages=_language_links(target, locale),
            error=err,
            next=html.escape(target),
        ),
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/login", response_class=HTMLResponse, summary="Sign-in form (HTML)")
async def login_form(next: str = "/map") -> HTMLResponse:
    return login_page(next)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@router.post(
    "/auth/login",
    summary="Sign in with a user name and password; sets the geomon_session cookie",
    responses={401: {"description": "Wrong credentials, unknown user or locked account."}},
)
async def login(
    request: Request,
    username: str = Form(..., max_length=200),
    password: str = Form(..., max_length=1024),
    next: str | None = Form(None, max_length=2000),
) -> Response:
    s = app_state(request).settings.auth
    request.state.audit_user = username
    async with auth_pool(request).connection(timeout=5) as conn:
        result = await check_login(
            conn,
            username,
            password,
            max_failures=s.max_failed_logins,
            lockout=timedelta(minutes=s.lockout_minutes),
        )
        if result.user is None:
            log.warning("login refused for %r: %s", username, result.reason)
            if _wants_html(request):
                return login_page(next or "/map", FAILED, status=401)
            raise AuthError(FAILED)
        cookie = new_token(SESSION_PREFIX)
        ttl = timedelta(hours=s.session_ttl_hours)
        async with conn.transaction():
            await open_session(conn, result.user.id, token_digest(cookie), ttl)
    body: dict[str, Any] = {
        "user": result.user.name,
        "role": result.user.role,
        "must_change_password": result.user.must_change_password,
    }
    target = safe_next(next)
    if result.user.must_change_password:  # one-time password: change it first
        target = f"/auth/password?next={quote(target)}"
    resp: Response = (
        RedirectResponse(target, status_code=303)
        if next is not None or _wants_html(request)
        else JSONResponse(body)
    )
    resp.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        path="/",
        secure=s.cookie_secure or request.url.scheme == "https",
    )
    return resp


@router.post("/auth/logout", summary="End the caller's session and clear its cookie")
async def logout(request: Request) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        async with auth_pool(request).connection(timeout=5) as conn, conn.transaction():
            await close_session(conn, token_digest(cookie))
    resp: Response = (
        RedirectResponse("/login", status_code=303)
        if _wants_html(request)
        else JSONResponse({"status": "signed out"})
    )
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/auth/password", response_class=HTMLResponse, summary="Password change form (HTML)")
async def password_form(principal: CurrentPrincipal, next: str = "/map") -> HTMLResponse:
    return _password_page(next)


def _password_page(next_url: str, error: str = "", status: int = 200) -> HTMLResponse:
    locale = request_locale()
    _ = translator(locale)
    err = f'<p class="err" role="alert">{html.escape(_(error))}</p>' if error else ""
    head = _PAGE.split("<form", 1)[0].replace("{error}", "")
    head = head.replace("{lang}", locale).replace("{title}", html.escape(_("geomon: password")))
    page = head + _PASSWORD_FORM.format(
        heading=html.escape(_("Choose a new password")),
        current=html.escape(_("Current (one-time) password")),
        new=html.escape(_("New password (at least 12 characters)")),
        submit=html.escape(_("Change password")),
        error=err,
        next=html.escape(safe_next(next_url)),
    )
    return HTMLResponse(
        page.replace("{{", "{").replace("}}", "}"),
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


@router.post(
    "/auth/password",
    summary="Change the caller's own password",
    responses={401: {"description": "Wrong current password."}},
)
async def password(
    request: Request,
    principal: CurrentPrincipal,
    current: str = Form(..., max_length=1024),
    new: str = Form(..., min_length=12, max_length=1024),
    next: str | None = Form(None, max_length=2000),
) -> Response:
    s = app_state(request).settings.auth
    async with auth_pool(request).connection(timeout=5) as conn:
        checked = await check_login(
            conn,
            principal.user,
            current,
            max_failures=s.max_failed_logins,
            lockout=timedelta(minutes=s.lockout_minutes),
        )
        if checked.user is None:
            if _wants_html(request):
                return _password_page(next or "/map", FAILED, status=401)
            raise AuthError(FAILED)
        new_hash = await asyncio.to_thread(hash_password, new)
        async with conn.transaction():
            await change_password(conn, principal.user_id, new_hash)
    if next is not None or _wants_html(request):  # other sessions ended: sign in again
        return RedirectResponse(f"/login?next={quote(safe_next(next))}", status_code=303)
    return JSONResponse({"status": "password changed"})


@router.get("/auth/me", summary="The caller: user, role, agency and what it may see")
async def me(principal: CurrentPrincipal) -> JSONResponse:
    return JSONResponse(
        {
            "user": principal.user,
            "role": principal.role,
            "agency_id": principal.agency_id,
            "visible_agency_ids": sorted(principal.visible_agency_ids),
            "shares": {k: sorted(v) for k, v in principal.shares.items()},
            "via": principal.via,
            "must_change_password": principal.must_change_password,
        }
    )


@router.get("/openapi.json", include_in_schema=False)
async def openapi_document(request: Request) -> JSONResponse:
    """The OpenAPI document, behind login like everything else."""
    return JSONResponse(request.app.openapi())
