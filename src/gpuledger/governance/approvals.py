"""The governance rules as the ledger's approval policy, decided under its write lock.

:class:`GovernedApprovals` is what ``gpuledger.governance.service`` hands the
ledger with every proposal and decision. The ledger calls it inside its write
transaction, after taking the chain-head lock, with every approval the books
hold for the diversion; the policy reads the grants and the orgs' groups through
that same transaction and applies :mod:`gpuledger.governance.rules`. So
concurrent approvers are serialised, each sees the approvals committed before
it, and the one whose approval completes the rules posts the diversion.
"""

from __future__ import annotations

from sqlalchemy import Connection

from gpuledger.domain import Decision
from gpuledger.governance.rules import approval_state, check_decision, check_standing
from gpuledger.governance.store import read_directory
from gpuledger.ledger import Ballot


class GovernedApprovals:
    """Who may propose, approve, reject or void, and when approvals are complete.

    Implements ``gpuledger.ledger.ApprovalPolicy`` with
    :func:`~gpuledger.governance.rules.check_decision` (PermissionDenied for a
    decision the user may not take now) and
    :func:`~gpuledger.governance.rules.approval_state` (complete: it posts).
    """

    def review(self, conn: Connection, ballot: Ballot) -> bool:
        """Check ``ballot`` against the grants in force; True when an approval completes it."""
        directory = read_directory(conn)
        access = directory.access(ballot.actor)
        if ballot.settled:
            check_standing(access, ballot.diversion, ballot.decision)
            return False
        check_decision(access, ballot.diversion, ballot.decision, ballot.approvers, directory)
        if ballot.decision is not Decision.APPROVE:
            return False
        approvers = [*ballot.approvers, ballot.actor]
        return approval_state(ballot.diversion, approvers, directory).complete


#: The one instance every interface passes (it holds no state).
GOVERNED = GovernedApprovals()
