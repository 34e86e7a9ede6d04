"""``/forecast`` (fan charts and completion odds) and ``/claims`` (public claims vs the books)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gpuledger.domain import PolicyName
from gpuledger.governance.store import Governance
from gpuledger.ledger import Ledger
from gpuledger.reports import views
from gpuledger.services import dashboard
from gpuledger.services import requests as rq
from gpuledger.services.claims import claims_report
from gpuledger.web.site import Site, Viewer


def router(site: Site) -> APIRouter:
    """The forecast and claims pages (one cached forecast per books, policy, samples, seed)."""
    pages = APIRouter()

    @pages.get("/forecast", response_class=HTMLResponse)
    def forecast_page(request: Request, policy: str | None = None) -> Response:
        def build(who: Viewer, ledger: Ledger, gov: Governance) -> Response:
            chosen = rq.parse_policy(policy or None)
            day = dashboard.books_date(ledger)
            fc = site.cache.get(ledger, chosen, site.samples, site.seed, as_of=day)
            consumers = who.seen(ledger).consumers
            fans = views.fan_charts(fc, consumers)
            return site.render(
                request,
                "forecast.html",
                who,
                charts=bool(fans),
                fans=fans,
                as_of=day,
                rows=views.forecast_rows(fc, consumers),
                forecast=fc,
                policy=str(chosen),
                policies=[str(p) for p in PolicyName],
            )

        return site.page(request, build)

    @pages.get("/claims", response_class=HTMLResponse)
    def claims_page(request: Request) -> Response:
        def build(who: Viewer, ledger: Ledger, gov: Governance) -> Response:
            day = dashboard.books_date(ledger)
            fc = site.cache.get(ledger, rq.DEFAULT_POLICY, site.samples, site.seed, as_of=day)
            checks = who.seen(ledger).claims(claims_report(ledger, fc))
            scenario = ledger.to_scenario()
            return site.render(
                request,
                "claims.html",
                who,
                checks=checks,
                claims={c.id: c for c in scenario.claims},
                tolerance=scenario.parameters.claim_tolerance,
                forecast=fc,
                as_of=day,
            )

        return site.page(request, build)

    return pages
