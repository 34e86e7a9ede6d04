"""``/`` and ``/orgs/{org}``: each visible org's holdings against its targets, and balances."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gpuledger.domain import PolicyName, UnknownRecord
from gpuledger.governance.store import Governance
from gpuledger.ledger import Ledger
from gpuledger.reports import views
from gpuledger.services import requests as rq
from gpuledger.services.planning import plan_report
from gpuledger.services.visibility import visible_orgs
from gpuledger.web.site import Site, Viewer


def router(site: Site) -> APIRouter:
    """The overview of every visible org, and of one org."""
    pages = APIRouter()

    def overview(request: Request, only: str | None, policy_text: str | None) -> Response:
        def build(who: Viewer, ledger: Ledger, gov: Governance) -> Response:
            seen = who.seen(ledger)
            if only is not None:
                seen.require_org(only)
            policy = rq.parse_policy(policy_text or None)
            scenario = ledger.to_scenario()
            orgs = [only] if only else list(visible_orgs(scenario, seen))
            plan = plan_report(ledger, policy)
            fc = site.cache.get(ledger, policy, site.samples, site.seed)
            sections = views.org_sections(ledger, plan, fc, orgs, scenario)
            if only is not None and not sections:
                raise UnknownRecord(f"org {only!r} is not in the ledger")
            return site.render(
                request,
                "overview.html",
                who,
                sections=sections,
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
