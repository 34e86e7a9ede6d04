"""``/audit``: the event log the viewer may see, newest first, with filters and paging.

Filters: kind, actor, event id contains, and a range of recorded dates; 100
events a page. The page says whether the hash chain verifies.
"""

from __future__ import annotations

from urllib.parse import urlencode

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
        start: str | None = None,
        end: str | None = None,
        offset: str | None = None,
    ) -> Response:
        def build(who: Viewer, ledger: Ledger, gov: Governance) -> Response:
            seen = who.seen(ledger)
            seen.require_some_org(who.user)
            chosen = rq.parse_choice(kind, EventKind, "kind") if kind else None
            first = rq.parse_optional_date(start or None, "start")
            last = rq.parse_optional_date(end or None, "end")
            skip = rq.parse_int(offset, "offset", low=0, high=10**9) if offset else 0
            mine = [
                e
                for e in ledger.events(limit=max(ledger.event_count(), 1), kind=chosen)
                if seen.sees_event(e.body)
            ]
            events = [
                e
                for e in reversed(mine)
                if (not actor or e.actor == actor)
                and (not q or q.lower() in e.id.lower())
                and (first is None or e.recorded_at.date() >= first)
                and (last is None or e.recorded_at.date() <= last)
            ]
            filters = {
                "kind": kind or "",
                "actor": actor or "",
                "q": q or "",
                "start": start or "",
                "end": end or "",
            }
            return site.render(
                request,
                "audit.html",
                who,
                events=events[skip : skip + PAGE_SIZE],
                total=len(events),
                offset=skip,
                page_size=PAGE_SIZE,
                report=ledger.verify(),
                kinds=[str(k) for k in EventKind],
                actors=sorted({e.actor for e in mine}),
                filters=filters,
                query=urlencode(filters),
            )

        return site.page(request, build)

    return pages
