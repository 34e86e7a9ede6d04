"""The caller, the whole books in and out (scenario YAML), and the audit of the chain."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gpuledger.api.deps import Books, Day, Idempotency, Key, Who, seen, validated, write
from gpuledger.api.models import AuditOut, ImportOut, ScenarioIn, ScenarioOut, WhoAmIOut
from gpuledger.services.books import export_text, import_text

router = APIRouter()


@router.get("/whoami", response_model=WhoAmIOut, tags=["governance"])
def whoami(who: Who) -> dict[str, Any]:
    """The caller, the orgs they may see and their role in each."""
    return {
        "user": who.user,
        "orgs": {o: r.value for o, r in who.access.org_roles.items()},
        "auditor_of": sorted(who.access.auditor_of),
    }


@router.get("/scenario", response_model=ScenarioOut, tags=["scenario"])
def export(books: Books, who: Who, as_of: Day = None) -> dict[str, Any]:
    """The books as scenario YAML; the caller must see every org in the books."""
    seen(books, who).require_every_org(who.user, books.ledger.to_scenario())
    day: date | None = as_of
    return {"yaml": export_text(books.ledger, day)}


@router.post("/scenario", response_model=ImportOut, tags=["scenario"])
def import_(
    request: Request, books: Books, store: Idempotency, who: Who, key: Key, body: ScenarioIn
) -> JSONResponse:
    """Import a scenario file atomically, every record it changes authorized.

    A caller with no role that can import (admin of an org, group-admin,
    books-admin) is refused before the file is parsed; then the caller must be
    admin of every org the file names and of the current owner of every record
    it changes, books-admin to change a SKU, vendor, group or the parameters,
    and diversions are only proposed (docs/security.md).
    """

    def run() -> dict[str, Any]:
        report = import_text(books, who.user, body.yaml, body.filename)
        return validated(ImportOut, report.as_json())

    return write(request, store, who, key, body, run)


@router.get("/audit/verify", response_model=AuditOut, tags=["audit"])
def verify(books: Books, who: Who) -> dict[str, Any]:
    """Recompute the hash chain and the projections; name the first bad event."""
    seen(books, who).require_some_org(who.user)
    return books.ledger.verify().as_json()
