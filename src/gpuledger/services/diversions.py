"""Diversions: propose, decide and show them under the books' governance, for every interface.

Books with no users are a single person's working copy (a fresh ``demo`` or
``import``): diversions follow the ledger's two-phase rules but nobody's role is
checked. The first ``gpuledger user add`` turns the rules of
:mod:`gpuledger.governance.rules` on for good; from then on every proposal and
decision goes through :mod:`gpuledger.governance.service`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gpuledger.domain import Decision, Diversion, DiversionStatus, PermissionDenied

if TYPE_CHECKING:
    from gpuledger.governance.rules import Access, ApprovalState, Directory
    from gpuledger.governance.store import Governance
    from gpuledger.ledger import DiversionView, Ledger

#: The decisions a person may take on a pending diversion, in the order pages show them.
DECISIONS = (Decision.APPROVE, Decision.REJECT, Decision.VOID)


@dataclass(frozen=True)
class DiversionReport:
    """A diversion as the books hold it, and its approvals (None on single-user books)."""

    view: DiversionView
    approvals: ApprovalState | None

    @property
    def status(self) -> DiversionStatus | None:
        """Pending, posted or voided (None: an expectation not proposed in the books)."""
        return self.view.status

    def to_json(self) -> dict[str, Any]:
        """``DiversionView.as_json()`` plus ``approvals`` when governance is on."""
        data = self.view.as_json()
        if self.approvals is not None:
            data["approvals"] = approvals_json(self.approvals)
        return data


def approvals_json(state: ApprovalState) -> dict[str, Any]:
    """``{"required", "filled": [{"requirement", "user"}], "missing", "summary"}``."""
    return {
        "required": [r.value for r in state.required],
        "filled": [{"requirement": r.value, "user": u} for r, u in state.filled],
        "missing": [r.value for r in state.missing],
        "summary": state.describe(),
    }


def books_governance(
    ledger: Ledger, clock: Callable[[], datetime], gov: Governance | None = None
) -> Governance | None:
    """The books' governance, or None when no user exists yet (a single person's books)."""
    from gpuledger.governance.store import Governance

    gov = gov or Governance(ledger.engine, clock)
    return gov if gov.users() else None


def propose(
    ledger: Ledger,
    diversion: Diversion,
    *,
    actor: str,
    gov: Governance | None,
    directory: Directory | None = None,
) -> DiversionReport:
    """Propose a diversion as ``actor``: its units are reserved until it is decided.

    ``gov`` None: the single person's books. Under governance the proposer needs
    a planner role on a side and is recorded as the proposer; ``directory``: the
    one ``actor``'s token was checked against in this request, if any.
    """
    if gov is None:
        ledger.propose_diversion(diversion, actor=actor)
        return DiversionReport(ledger.diversion(diversion.id), None)
    from gpuledger.governance import service

    view, used = service.propose(ledger, gov, actor, diversion, directory)
    return DiversionReport(view, service.approvals(view, used))


def decide(
    ledger: Ledger,
    diversion_id: str,
    decision: Decision,
    *,
    actor: str,
    gov: Governance | None,
    directory: Directory | None = None,
) -> DiversionReport:
    """Approve, reject or void a diversion as ``actor``; it posts once approvals are complete.

    ``directory`` as for :func:`propose`.
    """
    if gov is None:
        ledger.decide(diversion_id, decision, actor=actor)
        return DiversionReport(ledger.diversion(diversion_id), None)
    from gpuledger.governance import service

    view, used = service.decide(ledger, gov, actor, diversion_id, decision, directory=directory)
    return DiversionReport(view, service.approvals(view, used))


def show(
    ledger: Ledger,
    diversion_id: str,
    *,
    directory: Directory | None,
    access: Access | None = None,
) -> DiversionReport:
    """A diversion with its decisions; ``access``: UnknownRecord unless it sees a side."""
    from gpuledger.governance import service

    if access is None:
        view = ledger.diversion(diversion_id)
    else:
        view = service.visible_diversion(ledger, access, diversion_id)
    return DiversionReport(view, None if directory is None else service.approvals(view, directory))


def reports(views: list[DiversionView], directory: Directory) -> list[DiversionReport]:
    """Each view with its approval state."""
    from gpuledger.governance import service

    return [DiversionReport(v, service.approvals(v, directory)) for v in views]


def allowed_decisions(view: DiversionView, access: Access, directory: Directory) -> list[Decision]:
    """The decisions ``access`` may take on a pending diversion now (none once decided)."""
    from gpuledger.governance import service
    from gpuledger.governance.rules import check_decision

    if view.status is not DiversionStatus.PENDING:
        return []
    prior = service.approvers_of(view)
    allowed = []
    for decision in DECISIONS:
        try:
            check_decision(access, view.diversion, decision, prior, directory)
        except PermissionDenied:
            continue
        allowed.append(decision)
    return allowed
