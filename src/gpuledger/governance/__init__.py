"""Governance: users, API tokens, roles per org and group, and the approval rules.

The rules (:mod:`gpuledger.governance.rules`) are pure and shared by the CLI, the
API and the web; :mod:`gpuledger.governance.approvals` hands them to the ledger
as its approval policy, applied under the ledger's write lock;
:mod:`gpuledger.governance.service` is what interfaces call to propose and
decide; :class:`Governance` stores users, grants and tokens beside the books.
"""

from __future__ import annotations

from gpuledger.governance.rules import (
    Access,
    Action,
    ApprovalState,
    Directory,
    Grant,
    Requirement,
    approval_state,
    check_decision,
    check_proposal,
    required_approvals,
    resolve,
)
from gpuledger.governance.tokens import IssuedToken, TokenHasher

__all__ = [
    "Access",
    "Action",
    "ApprovalState",
    "Directory",
    "Grant",
    "IssuedToken",
    "Requirement",
    "TokenHasher",
    "approval_state",
    "check_decision",
    "check_proposal",
    "required_approvals",
    "resolve",
]
