"""Sign-in with an API token, which starts a server-side session, and sign-out, which ends it.

The cookie holds only the session id (``Governance.start_session``): HttpOnly,
SameSite=Strict, ``Secure`` when the site says so, and expiring with the
session. The token typed in is checked once and never stored in the browser.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gpuledger.domain import Unauthenticated
from gpuledger.governance.store import SESSION_HOURS
from gpuledger.services.fair_use import FairUse
from gpuledger.web.site import COOKIE, Site, form, safe_next, same_origin

#: The cookie of earlier versions, which held the API token itself: cleared on sign-in and out.
LEGACY_COOKIE = "gpuledger_token"


def router(site: Site) -> APIRouter:
    """``/login`` (form and post) and ``/logout``."""
    pages = APIRouter()

    @pages.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:
        return site.render(
            request,
            "login.html",
            site.viewer(request),
            next=safe_next(next),
            error=None,
            session_hours=SESSION_HOURS,
        )

    @pages.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        fields = await form(request)
        target = safe_next(fields.get("next"))
        if not same_origin(request):  # no signing a victim in as someone else from afar
            error = "the sign-in form was not sent from this site"
            return site.render(
                request,
                "login.html",
                None,
                403,
                next=target,
                error=error,
                session_hours=SESSION_HOURS,
            )
        token = fields.get("token", "").strip()
        _, gov = site.books(request)
        limits = request.app.state.fair_use
        assert isinstance(limits, FairUse), "the server mounts the API's limits"
        address = request.client.host if request.client else None
        try:
            session_id = limits.sign_in.check(
                token, address, lambda t: gov.start_session(t, hours=SESSION_HOURS)
            )
        except Unauthenticated as exc:
            return site.render(
                request,
                "login.html",
                None,
                401,
                next=target,
                error=str(exc),
                session_hours=SESSION_HOURS,
            )
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=SESSION_HOURS * 3600,
            httponly=True,
            samesite="strict",
            secure=site.secure_cookie,
            path="/",
        )
        response.delete_cookie(LEGACY_COOKIE, path="/")
        return response

    @pages.post("/logout")
    def logout(request: Request) -> Response:
        session_id = request.cookies.get(COOKIE)
        if session_id:
            _, gov = site.books(request)
            gov.end_session(session_id)  # the cookie is worth nothing from now on
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(
            COOKIE, path="/", httponly=True, samesite="strict", secure=site.secure_cookie
        )
        response.delete_cookie(LEGACY_COOKIE, path="/")
        return response

    return pages
