"""``/flows``: a Sankey of units vendor -> org -> cluster over a period, and its table.

Posted transfers in the period (``reports.flows.flow_links``), and what the
plan of the books as they stand assigns to each cluster on the period's end
(``reports.flows.assigned_links``), so the clusters are drawn before any deploy
is posted.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gpuledger.governance.store import Governance
from gpuledger.ledger import Ledger
from gpuledger.reports import views
from gpuledger.reports.charts import FLOW_COLORS
from gpuledger.reports.flows import FLOW_MEANINGS, assigned_links
from gpuledger.services import dashboard
from gpuledger.services import requests as rq
from gpuledger.services.planning import plan_report
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
            sees = who.seen(ledger).sees_owner
            posted = views.flow_links(ledger.transfers(), sees, first, last)
            day = dashboard.books_date(ledger)
            on = min(last or day, day)
            planned = (
                []
                if first and on < first
                else assigned_links(plan_report(ledger, as_of=day), on, sees, posted)
            )
            links = posted + planned
            return site.render(
                request,
                "flows.html",
                who,
                charts=bool(links),
                links=links,
                figure=views.sankey_figure(links),
                title=f"Units vendor → org → cluster, {period(first, last or on)}",
                period=period(first, last or on),
                assigned_on=on if planned else None,
                meanings=FLOW_MEANINGS,
                colors=FLOW_COLORS,
                start=start or "",
                end=end or "",
                label=views.owner_label,
            )

        return site.page(request, build)

    return pages
