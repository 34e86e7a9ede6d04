"""``/diversions``: what each diversion costs, an inbox, the form with its preview; one diversion.

Each pending or posted diversion's card opens with its headline
(``services.dashboard``, the org-level figures of ``gpuledger impact --json``),
so an approver decides from the cost. The inbox lists the pending diversions
the viewer may decide now. The form is shown only to someone who may propose
(``services.dashboard.proposal_orgs``, the governance rule), with the
counterparties of the books to choose from. The preview is ``gpuledger impact
--divert ... --json`` cut down to the viewer's targets; proposals and
decisions go through ``services.diversions`` (the governance rules); the
buttons shown are the decisions the rules allow, each confirmed first.
``/diversions/{id}`` shows one diversion with its lots' transfers and its events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from gpuledger.domain import (
    Decision,
    GpuledgerError,
    InvalidTransition,
    PermissionDenied,
    PolicyName,
    UnknownRecord,
)
from gpuledger.governance.store import Governance
from gpuledger.ledger import DiversionView, Ledger
from gpuledger.services import dashboard, diversions
from gpuledger.services import requests as rq
from gpuledger.services.books import books_today, trace
from gpuledger.services.errors import error_body, http_status
from gpuledger.services.planning import impact_of_change
from gpuledger.web.forms import diversion_form, divert_change
from gpuledger.web.site import Site, Viewer, form, same_origin

#: Decisions that put a pending diversion in a viewer's inbox (voiding one's own is not one).
WAITING = frozenset({Decision.APPROVE.value, Decision.REJECT.value})
#: Cards that get their headline computed on the list (the rest on their own page).
HEADLINES_LISTED = 25


def diversion_rows(
    who: Viewer, ledger: Ledger, site: Site, views: list[DiversionView] | None = None
) -> list[dict[str, Any]]:
    """Visible diversions, newest first, each with its cost, approvals and allowed decisions."""
    if views is None:
        views = who.seen(ledger).diversions(reversed(ledger.diversions()))
    rows = []
    for n, r in enumerate(diversions.reports(views, who.directory)):
        allowed = [d.value for d in diversions.allowed_decisions(r.view, who.access, who.directory)]
        live = r.status in dashboard.LIVE and n < HEADLINES_LISTED
        rows.append(
            {
                "d": r.view.diversion,
                "status": r.status.value if r.status else None,
                "decisions": r.view.decisions,
                "approvals": r.approvals,
                "allowed": allowed,
                "waiting": any(a in WAITING for a in allowed),
                "headline": (
                    site.headlines.get(ledger, r.view, rq.DEFAULT_POLICY) if live else None
                ),
            }
        )
    return rows


def decision_of(text: str) -> Decision:
    """A decision a button may post (approve, reject, void); anything else is not a page."""
    try:
        choice = Decision(text)
    except ValueError:
        raise UnknownRecord(f"decision {text!r} does not exist") from None
    if choice is Decision.PROPOSE:
        raise UnknownRecord("propose with the form, not on an existing diversion")
    return choice


def router(site: Site) -> APIRouter:
    """The diversions page, its preview and its writes."""
    pages = APIRouter()

    def page(
        request: Request,
        who: Viewer,
        ledger: Ledger,
        *,
        status: int = 200,
        error: str | None = None,
        values: Mapping[str, str] | None = None,
        done: str | None = None,
    ) -> Response:
        scenario = ledger.to_scenario()
        seen = who.seen(ledger)
        all_orgs = [o.id for o in scenario.orgs]
        views = seen.diversions(reversed(ledger.diversions()))
        defaults = {
            "id": "",
            "lot": "",
            "qty": "",
            "from_org": "",
            "to_org": "",
            "on": books_today(ledger).isoformat(),
            "payback": "",
            "reason": "",
            "policy": str(rq.DEFAULT_POLICY),
        }
        return site.render(
            request,
            "diversions.html",
            who,
            status,
            rows=diversion_rows(who, ledger, site, views),
            lots=[lot for lot in scenario.lots if seen.sees_org(lot.consignee)],
            proposal_orgs=dashboard.proposal_orgs(who.access, all_orgs),
            counterparties=dashboard.counterparties(
                who.access, who.directory, [v.diversion for v in views], all_orgs
            ),
            names={o.id: o.name or o.id for o in scenario.orgs if seen.sees_org(o.id)},
            policies=[str(p) for p in PolicyName],
            values=defaults | dict(values or {}),
            error=error,
            done=done,
        )

    @pages.get("/diversions", response_class=HTMLResponse)
    def list_page(request: Request, done: str | None = None) -> Response:
        return site.page(request, lambda who, led, gov: page(request, who, led, done=done))

    @pages.get("/diversions/preview")
    def preview(request: Request) -> Response:
        """The impact of the diversion in the form: ``gpuledger impact --divert ... --json``."""
        who = site.viewer(request)
        if who is None:
            return JSONResponse({"error": {"code": "unauthenticated", "message": "sign in"}}, 401)
        ledger, _ = site.books(request)
        fields = dict(request.query_params)
        try:
            change = divert_change(fields)
            seen = who.seen(ledger)
            seen.require_change(change, ledger.to_scenario())
            policy = rq.parse_policy(fields.get("policy") or None)
            data = seen.impact_json(impact_of_change(ledger, change, policy))
        except GpuledgerError as exc:
            return JSONResponse(error_body(exc), status_code=http_status(exc))
        fragment = site.env.get_template("_preview.html").render(impact=data)
        return JSONResponse({"impact": data, "html": fragment})

    @pages.get("/diversions/{diversion_id}", response_class=HTMLResponse)
    def one(request: Request, diversion_id: str) -> Response:
        """One diversion: its card, every transfer of its lots, its events."""

        def build(who: Viewer, ledger: Ledger, gov: Governance) -> Response:
            seen = who.seen(ledger)
            view = ledger.diversion(diversion_id)
            seen.require_diversion(view.diversion)
            (row,) = diversion_rows(who, ledger, site, [view])
            d = view.diversion
            lots = [d.lot, *(p.lot for p in d.payback)]
            traces = []
            for lot in dict.fromkeys(lots):
                try:
                    traces.append(trace(ledger, lot, seen=seen))
                except UnknownRecord:
                    continue  # a lot of the other side, which the viewer does not see
            events = [
                e
                for e in reversed(ledger.events(limit=max(ledger.event_count(), 1)))
                if d.id in e.id and seen.sees_event(e.body)
            ]
            return site.render(
                request, "diversion.html", who, row=row, traces=traces, events=events
            )

        return site.page(request, build)

    @pages.post("/diversions", response_class=HTMLResponse)
    async def propose(request: Request) -> Response:
        fields = await form(request)

        def build(who: Viewer, ledger: Ledger, gov: Governance) -> Response:
            if not same_origin(request):
                raise PermissionDenied("the form was not sent from this site")
            try:
                d = diversion_form(fields, who.user)
                diversions.propose(ledger, d, actor=who.user, gov=gov, directory=who.directory)
            except GpuledgerError as exc:
                return page(
                    request, who, ledger, status=http_status(exc), error=str(exc), values=fields
                )
            return RedirectResponse(f"/diversions?done={quote(d.id)}#div-{quote(d.id)}", 303)

        return site.page(request, build)

    @pages.post("/diversions/{diversion_id}/{decision}", response_class=HTMLResponse)
    def decide(request: Request, diversion_id: str, decision: str) -> Response:
        def build(who: Viewer, ledger: Ledger, gov: Governance) -> Response:
            if not same_origin(request):
                raise PermissionDenied("the form was not sent from this site")
            choice = decision_of(decision)
            try:
                diversions.decide(
                    ledger, diversion_id, choice, actor=who.user, gov=gov, directory=who.directory
                )
            except (PermissionDenied, InvalidTransition) as exc:
                return page(request, who, ledger, status=http_status(exc), error=str(exc))
            target = quote(diversion_id)
            return RedirectResponse(f"/diversions?done={target}#div-{target}", 303)

        return site.page(request, build)

    return pages
