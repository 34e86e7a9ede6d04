"""Governed diversions: the permission checks and the ledger call, for every interface.

The CLI, the API and the web call these instead of ``Ledger.propose_diversion``
and ``Ledger.decide`` directly, so the rules of :mod:`gpuledger.governance.rules`
hold everywhere: who may propose, approve, reject or void, and (through the
ledger's ``_may_post`` hook) when the approvals are complete.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from gpuledger.domain import Decision, Diversion, DiversionStatus, UnknownRecord
from gpuledger.governance.context import governed
from gpuledger.governance.rules import (
    Access,
    ApprovalState,
    Directory,
    approval_state,
    check_decision,
    check_proposal,
)
from gpuledger.governance.store import Governance
from gpuledger.ledger import DiversionView, Ledger


def approvers_of(view: DiversionView) -> list[str]:
    """Who approved a diversion so far, in order."""
    return [d.actor for d in view.decisions if d.decision is Decision.APPROVE]


def approvals(view: DiversionView, directory: Directory) -> ApprovalState:
    """The approval state of a diversion as the books record it."""
    return approval_state(view.diversion, approvers_of(view), directory)


def visible_diversion(ledger: Ledger, access: Access, diversion_id: str) -> DiversionView:
    """The diversion, if ``access`` sees either side; else UnknownRecord (never a hint)."""
    view = ledger.diversion(diversion_id)
    d = view.diversion
    if not (access.sees(d.from_org) or access.sees(d.to_org)):
        raise UnknownRecord(f"diversion {diversion_id!r} is not in the ledger")
    return view


def propose(
    ledger: Ledger, gov: Governance, user: str, diversion: Diversion
) -> tuple[DiversionView, Directory]:
    """Propose ``diversion`` as ``user`` (recorded as its proposer) after the checks.

    The user must see one side (the counterparty may be an org they cannot see);
    seeing neither answers UnknownRecord, as if the orgs did not exist.
    """
    directory = gov.directory()
    access = directory.access(user)
    if not (access.sees(diversion.from_org) or access.sees(diversion.to_org)):
        raise UnknownRecord(f"org {diversion.from_org!r} is not in the ledger")
    d = replace(diversion, proposed_by=user, status=DiversionStatus.PENDING)
    check_proposal(access, d)
    with governed(directory):
        ledger.propose_diversion(d, actor=user)
    return ledger.diversion(d.id), directory


def decide(
    ledger: Ledger,
    gov: Governance,
    user: str,
    diversion_id: str,
    decision: Decision,
    on: date | None = None,
) -> tuple[DiversionView, Directory]:
    """Approve, reject or void a diversion as ``user``; it posts when approvals are complete."""
    directory = gov.directory()
    access = directory.access(user)
    view = visible_diversion(ledger, access, diversion_id)
    prior = approvers_of(view)
    if view.status is DiversionStatus.PENDING:
        check_decision(access, view.diversion, decision, prior, directory)
    with governed(directory, prior):
        ledger.decide(diversion_id, decision, actor=user, on=on)
    return ledger.diversion(diversion_id), directory
