"""``/audit``: the event log the viewer may see, with filters, and whether the chain verifies."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gpuledger.governance.store import Governance
from gpuledger.ledger import EventKind, Ledger
from gpuledger.services import requests as rq
from gpuledger.web.site import Site, Viewer

PAGE_SIZE = 100


def router(site: Site) -> APIRouter:
    """The audit page."""
    pages = APIRouter()

    @pages.get("/audit", response_class=HTMLResponse)
    def audit(
        request: Request,
        kind: str | None = None,
        actor: str | None = None,
        q: str | None = None,
        offset: str | None = None,
    ) -> Response:
        def build(who: Viewer, ledger: Ledger, gov: Governance) -> Response:
            seen = who.seen(ledger)
            seen.require_some_org(who.user)
            chosen = rq.parse_choice(kind, EventKind, "kind") if kind else None
            start = rq.parse_int(offset, "offset", low=0, high=10**9) if offset else 0
            events = [
                e
                for e in ledger.events(limit=max(ledger.event_count(), 1), kind=chosen)
                if seen.sees_event(e.body)
                and (not actor or e.actor == actor)
                and (not q or q.lower() in e.id.lower())
            ]
            return site.render(
                request,
                "audit.html",
                who,
                events=events[start : start + PAGE_SIZE],
                total=len(events),
                offset=start,
                page_size=PAGE_SIZE,
                report=ledger.verify(),
                kinds=[str(k) for k in EventKind],
                actors=sorted({e.actor for e in events}),
                filters={"kind": kind or "", "actor": actor or "", "q": q or ""},
            )

        return site.page(request, build)

    return pages
