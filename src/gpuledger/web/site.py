"""What every page shares: the signed-in viewer, rendering, the error page, the forecast cache.

A :class:`Site` is built once per router (:func:`gpuledger.web.create_router`)
and handed to each page's router. Errors a page meets are answered with the
error page and the status of the one table (``services.errors``), as the API
answers them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from gpuledger.domain import GpuledgerError, PolicyName, Unauthenticated
from gpuledger.forecast import Forecast
from gpuledger.governance.rules import Access, Directory
from gpuledger.governance.store import Governance
from gpuledger.ledger import DiversionView, Ledger
from gpuledger.services import dashboard
from gpuledger.services.books import visibility
from gpuledger.services.dashboard import Headline
from gpuledger.services.errors import http_status
from gpuledger.services.forecasting import forecast_report
from gpuledger.services.visibility import Visibility
from gpuledger.web.assets import static_url

V = TypeVar("V")

#: The sign-in cookie: a server-side session id (never the API token), HttpOnly,
#: SameSite=Strict, Secure under ``serve --secure-cookies``.
COOKIE = "gpuledger_session"

NAV = (
    ("/", "Overview"),
    ("/flows", "Flows"),
    ("/diversions", "Diversions"),
    ("/forecast", "Forecast"),
    ("/claims", "Claims"),
    ("/audit", "Audit"),
)


@dataclass(frozen=True)
class Viewer:
    """The signed-in user and what they may see."""

    user: str
    access: Access
    directory: Directory

    @property
    def orgs(self) -> list[str]:
        """Visible orgs, sorted."""
        return sorted(self.access.visible_orgs())

    def seen(self, ledger: Ledger) -> Visibility:
        """What this viewer sees of the books (``services.visibility``)."""
        return visibility(ledger, self.access)


@dataclass
class Memo(Generic[V]):
    """The most recent results by key; keys start with the number of events in the books.

    The books changed means a new key, so a kept result is never stale.
    """

    size: int = 8
    items: dict[Hashable, V] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The result for ``key``, computed at most once while it is kept."""
        with self.lock:
            hit = self.items.get(key)
        if hit is not None:
            return hit
        value = compute()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.pop(next(iter(self.items)))
        return value


@dataclass
class ForecastCache:
    """Recent forecasts by (events in the books, policy, samples, seed, as of)."""

    memo: Memo[Forecast] = field(default_factory=Memo)

    def get(
        self,
        ledger: Ledger,
        policy: PolicyName,
        samples: int,
        seed: int,
        as_of: date | None = None,
    ) -> Forecast:
        """The forecast of the books as they are now, computed at most once per key."""
        key = (ledger.event_count(), str(policy), samples, seed, as_of)
        return self.memo.get(
            key, lambda: forecast_report(ledger, policy, samples=samples, seed=seed, as_of=as_of)
        )


@dataclass
class HeadlineCache:
    """Recent headlines of diversions by (events in the books, diversion, policy)."""

    memo: Memo[Headline] = field(default_factory=lambda: Memo(size=64))

    def get(self, ledger: Ledger, view: DiversionView, policy: PolicyName) -> Headline:
        """The headline of ``view`` (``services.dashboard.headline``), kept while the books hold."""
        key = (ledger.event_count(), view.diversion.id, str(policy))
        return self.memo.get(key, lambda: dashboard.headline(ledger, view, policy))

    def all(
        self,
        ledger: Ledger,
        views: Iterable[DiversionView],
        policy: PolicyName,
        limit: int | None = None,
    ) -> list[Headline]:
        """Headlines of the pending and posted ``views`` (``services.dashboard.headlines``)."""
        live = [v for v in views if v.status in dashboard.LIVE]
        return [self.get(ledger, v, policy) for v in live[:limit]]


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def same_origin(request: Request) -> bool:
    """Writes must come from this site's own pages (the cookie is SameSite=Strict too)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host")


async def form(request: Request) -> dict[str, str]:
    """The url-encoded body (no multipart parser needed), one value per field."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


Build = Callable[[Viewer, Ledger, Governance], Response]


@dataclass
class Site:
    """The dashboard's shared parts.

    ``ledger`` and ``gov`` None read them from the app's ``state.backend`` (the
    ``services.books.Backend`` that ``gpuledger.server`` opens) on each request.
    """

    env: Environment
    samples: int
    seed: int
    secure_cookie: bool = False
    ledger: Ledger | None = None
    gov: Governance | None = None
    cache: ForecastCache = field(default_factory=ForecastCache)
    headlines: HeadlineCache = field(default_factory=HeadlineCache)

    def books(self, request: Request) -> tuple[Ledger, Governance]:
        """The books and governance of this request."""
        if self.ledger is not None and self.gov is not None:
            return self.ledger, self.gov
        backend = request.app.state.backend
        return backend.ledger, backend.gov

    def viewer(self, request: Request) -> Viewer | None:
        """The signed-in user of the request's session cookie; None when signed out."""
        session_id = request.cookies.get(COOKIE)
        if not session_id:
            return None
        _, gov = self.books(request)
        try:
            user = gov.session_user(session_id)
        except Unauthenticated:
            return None
        directory = gov.directory()
        return Viewer(user, directory.access(user), directory)

    def render(
        self,
        request: Request,
        name: str,
        who: Viewer | None,
        status: int = 200,
        *,
        charts: bool = False,
        **ctx: Any,
    ) -> HTMLResponse:
        """A page from its template, with the navigation; ``charts`` loads Plotly."""
        path = request.url.path
        current = next(
            (href for href, _ in NAV if href != "/" and path.startswith(href)),
            "/" if path == "/" or path.startswith("/orgs/") else None,
        )
        html = self.env.get_template(name).render(
            request_path=path,
            nav=NAV,
            current=current,
            who=who,
            charts=charts,
            static_url=static_url,
            **ctx,
        )
        return HTMLResponse(html, status_code=status)

    def error(self, request: Request, who: Viewer | None, exc: GpuledgerError) -> HTMLResponse:
        """The error page with the status of the one error table."""
        status = http_status(exc)
        return self.render(request, "error.html", who, status, code=status, message=str(exc))

    def page(self, request: Request, build: Build) -> Response:
        """A page for the signed-in viewer (else to the sign-in); errors as the error page."""
        who = self.viewer(request)
        if who is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        ledger, gov = self.books(request)
        try:
            return build(who, ledger, gov)
        except GpuledgerError as exc:
            return self.error(request, who, exc)
