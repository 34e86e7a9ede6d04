"""``/`` and ``/orgs/{org}``: what diversions cost, then each visible org's holdings and targets.

The page opens with the headline of every pending and posted diversion the
viewer sees (``services.dashboard``: the org-level figure of
``services.planning.impact_of_diversion``, as ``gpuledger impact --json``). The
plan is of the books as they stand (``services.dashboard.books_date``): a
diversion posted after the last import is in it, and the page says so.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gpuledger.domain import Decision, PolicyName, UnknownRecord
from gpuledger.governance.store import Governance
from gpuledger.ledger import Ledger
from gpuledger.reports import views
from gpuledger.services import dashboard, diversions
from gpuledger.services import requests as rq
from gpuledger.services.books import books_today
from gpuledger.services.planning import plan_report
from gpuledger.services.visibility import visible_orgs
from gpuledger.web.site import Site, Viewer

#: Headlines shown on the overview (the most recent first; the rest on /diversions).
HEADLINES_SHOWN = 5


def waiting_count(who: Viewer, ledger: Ledger) -> int:
    """Pending diversions the viewer may approve now (``services.diversions.allowed_decisions``)."""
    views_ = who.seen(ledger).diversions(ledger.diversions())
    return sum(
        Decision.APPROVE in diversions.allowed_decisions(v, who.access, who.directory)
        for v in views_
    )


def router(site: Site) -> APIRouter:
    """The overview of every visible org, and of one org."""
    pages = APIRouter()

    def overview(request: Request, only: str | None, policy_text: str | None) -> Response:
        def build(who: Viewer, ledger: Ledger, gov: Governance) -> Response:
            # 1. What the viewer sees, and the books as they stand.
            seen = who.seen(ledger)
            if only is not None:
                seen.require_org(only)
            policy = rq.parse_policy(policy_text or None)
            scenario = ledger.to_scenario()
            orgs = [only] if only else list(visible_orgs(scenario, seen))
            day, today = dashboard.books_date(ledger), books_today(ledger)
            # 2. The headlines of the diversions touching those orgs, newest first.
            touching = [
                v
                for v in reversed(ledger.diversions())
                if v.diversion.from_org in orgs or v.diversion.to_org in orgs
            ]
            shown = site.headlines.all(ledger, touching, policy, limit=HEADLINES_SHOWN + 1)
            # 3. The plan, the forecast and each org's section.
            plan = plan_report(ledger, policy, as_of=day)
            fc = site.cache.get(ledger, policy, site.samples, site.seed, as_of=day)
            sections = views.org_sections(ledger, plan, fc, orgs, scenario, shown)
            if only is not None and not sections:
                raise UnknownRecord(f"org {only!r} is not in the ledger")
            note = (
                f"the day of the latest posted diversion; the last import is as of {today}"
                if day > today
                else ""
            )
            return site.render(
                request,
                "overview.html",
                who,
                charts=any(s.charts for s in sections),
                sections=sections,
                headlines=shown[:HEADLINES_SHOWN],
                more_headlines=len(shown) > HEADLINES_SHOWN,
                waiting=waiting_count(who, ledger),
                books_note=note,
                any_counterfactual=any(h.books_impact is not None for h in shown),
                plan=plan,
                policy=str(policy),
                policies=[str(p) for p in PolicyName],
                single=only,
                samples=site.samples,
            )

        return site.page(request, build)

    @pages.get("/", response_class=HTMLResponse)
    def home(request: Request, policy: str | None = None) -> Response:
        return overview(request, None, policy)

    @pages.get("/orgs/{org}", response_class=HTMLResponse)
    def org_page(request: Request, org: str, policy: str | None = None) -> Response:
        return overview(request, org, policy)

    return pages
