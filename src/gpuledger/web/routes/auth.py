"""Sign-in with an API token (kept in an HttpOnly, SameSite=Strict cookie) and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gpuledger.domain import Unauthenticated
from gpuledger.web.site import COOKIE, Site, form, safe_next


def router(site: Site) -> APIRouter:
    """``/login`` (form and post) and ``/logout``."""
    pages = APIRouter()

    @pages.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:
        return site.render(
            request, "login.html", site.viewer(request), next=safe_next(next), error=None
        )

    @pages.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        fields = await form(request)
        target = safe_next(fields.get("next"))
        token = fields.get("token", "").strip()
        _, gov = site.books(request)
        try:
            gov.authenticate(token)
        except Unauthenticated as exc:
            return site.render(request, "login.html", None, 401, next=target, error=str(exc))
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", secure=site.secure_cookie, path="/"
        )
        return response

    @pages.post("/logout")
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return pages
