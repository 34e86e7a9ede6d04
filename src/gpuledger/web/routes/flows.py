"""``/flows``: a Sankey of posted units vendor -> org -> cluster over a period."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gpuledger.governance.store import Governance
from gpuledger.ledger import Ledger
from gpuledger.reports import views
from gpuledger.services import requests as rq
from gpuledger.web.site import Site, Viewer


def period(first: date | None, last: date | None) -> str:
    """``2024-01-01 to 2024-06-30``, open ends in words."""
    start = first.isoformat() if first else "the beginning"
    return f"{start} to {last.isoformat() if last else 'today'}"


def router(site: Site) -> APIRouter:
    """The flows page."""
    pages = APIRouter()

    @pages.get("/flows", response_class=HTMLResponse)
    def flows(request: Request, start: str | None = None, end: str | None = None) -> Response:
        def build(who: Viewer, ledger: Ledger, gov: Governance) -> Response:
            first = rq.parse_optional_date(start or None, "start")
            last = rq.parse_optional_date(end or None, "end")
            links = views.flow_links(ledger.transfers(), who.seen(ledger).sees_owner, first, last)
            title = f"Units vendor → org → cluster, {period(first, last)}"
            return site.render(
                request,
                "flows.html",
                who,
                links=links,
                figure=views.sankey_figure(links, title),
                start=start or "",
                end=end or "",
                label=views.owner_label,
            )

        return site.page(request, build)

    return pages
