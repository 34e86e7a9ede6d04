"""Governed diversions: what every interface calls to propose and decide under the rules.

The CLI, the API and the web call :func:`propose`, :func:`decide` and
:func:`import_scenario` (after :func:`require_importer`, before parsing) instead of
``Ledger.propose_diversion`` and ``Ledger.decide`` directly. Both pass the
ledger :data:`~gpuledger.governance.approvals.GOVERNED`, so who may propose,
approve, reject or void, and when the approvals are complete, are decided by
:mod:`gpuledger.governance.rules` inside the ledger's write transaction, on the
approvals the books hold then. Nothing here reads approvals before the lock;
the visibility check below only decides what the caller may learn.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from gpuledger.domain import Decision, Diversion, DiversionStatus, Scenario, UnknownRecord
from gpuledger.governance.approvals import GOVERNED
from gpuledger.governance.imports import GOVERNED_IMPORT
from gpuledger.governance.rules import Access, ApprovalState, Directory, approval_state
from gpuledger.governance.store import Governance
from gpuledger.ledger import DiversionView, ImportReport, Ledger


def approvers_of(view: DiversionView) -> list[str]:
    """Who approved a diversion so far, in order (for display: decisions use the books')."""
    return [d.actor for d in view.decisions if d.decision is Decision.APPROVE]


def approvals(view: DiversionView, directory: Directory) -> ApprovalState:
    """The approval state of a diversion as the view records it (for display)."""
    return approval_state(view.diversion, approvers_of(view), directory)


def visible_diversion(ledger: Ledger, access: Access, diversion_id: str) -> DiversionView:
    """The diversion, if ``access`` sees either side; else UnknownRecord (never a hint)."""
    view = ledger.diversion(diversion_id)
    d = view.diversion
    if not (access.sees(d.from_org) or access.sees(d.to_org)):
        raise UnknownRecord(f"diversion {diversion_id!r} is not in the ledger")
    return view


def propose(
    ledger: Ledger,
    gov: Governance,
    user: str,
    diversion: Diversion,
    directory: Directory | None = None,
) -> tuple[DiversionView, Directory]:
    """Propose ``diversion`` as ``user`` (recorded as its proposer) under the rules.

    The user must see the giving org (the counterparty may be an org they
    cannot see); a giver they do not see answers UnknownRecord, as if it did
    not exist. The planner role of the giver is checked by the ledger's
    policy, under its write lock. ``directory``: the one the caller's token was
    checked against in this request (None: read now).
    """
    directory = gov.directory() if directory is None else directory
    access = directory.access(user)
    if not access.sees(diversion.from_org):
        raise UnknownRecord(f"org {diversion.from_org!r} is not in the ledger")
    d = replace(diversion, proposed_by=user, status=DiversionStatus.PENDING)
    ledger.propose_diversion(d, actor=user, approvals=GOVERNED)
    return ledger.diversion(d.id), directory


def decide(
    ledger: Ledger,
    gov: Governance,
    user: str,
    diversion_id: str,
    decision: Decision,
    on: date | None = None,
    directory: Directory | None = None,
) -> tuple[DiversionView, Directory]:
    """Approve, reject or void a diversion as ``user``; it posts when approvals are complete.

    The rules are applied by the ledger under its write lock, to every approval
    the books hold then (``GOVERNED``); ``on`` is passed to ``Ledger.decide``.
    ``directory`` as for :func:`propose`.
    """
    directory = gov.directory() if directory is None else directory
    visible_diversion(ledger, directory.access(user), diversion_id)
    ledger.decide(diversion_id, decision, actor=user, on=on, approvals=GOVERNED)
    return ledger.diversion(diversion_id), directory


def require_importer(gov: Governance, user: str) -> None:
    """PermissionDenied unless ``user`` holds a role that can import at all.

    Called before an uploaded scenario is parsed, so a caller who may import
    nothing never gets the parser to run.
    """
    gov.directory().access(user).require_import()


def import_scenario(ledger: Ledger, gov: Governance, user: str, scenario: Scenario) -> ImportReport:
    """Import ``scenario`` as ``user``: every record authorized under the write lock.

    The rule is :func:`gpuledger.governance.imports.check_import`.
    """
    require_importer(gov, user)
    return ledger.import_scenario(scenario, actor=user, authority=GOVERNED_IMPORT)
