"""Who may decide on a diversion, and when it posts: the policy the ledger is given.

The ledger never reaches for governance: whoever opens the books hands it an
:class:`ApprovalPolicy` (``Ledger.open(url, approvals=...)`` or per call). The
ledger asks the policy inside its write transaction, under the chain-head lock,
with every approval the books hold for the diversion (a :class:`Ballot`), so two
approvers deciding at the same moment are serialised and the last one posts.

With no policy given the books are a single person's working copy
(:data:`WORKING_COPY`): the first approval posts. That holds only while the
books have no users; once governance has a user, a decision made without the
governance policy is refused (fail closed), never posted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, select

from gpuledger.domain import Decision, Diversion, PermissionDenied
from gpuledger.ledger import schema


@dataclass(frozen=True)
class Ballot:
    """One decision about to be recorded, with what the books hold when it is.

    Attributes:
        diversion: the diversion's record (for a proposal: the one proposed).
        decision: propose, approve, reject or void.
        actor: who decides.
        approvers: who approved it before, in order, as read under the write lock
            (empty for a proposal).
        settled: the diversion is already posted or voided: the decision can
            change nothing, and the policy only says whether the actor could
            have taken it (else a repeat of the outcome would answer ok to anyone).
    """

    diversion: Diversion
    decision: Decision
    actor: str
    approvers: tuple[str, ...] = ()
    settled: bool = False


class ApprovalPolicy(Protocol):
    """Decides, under the ledger's write lock, whether a decision may be taken and posts."""

    def review(self, conn: Connection, ballot: Ballot) -> bool:
        """Admit ``ballot`` or raise :class:`PermissionDenied`; True when an approval completes.

        Called for proposals and every decision (``ballot.settled`` for a
        diversion already posted or voided: the answer is then ignored).
        ``conn`` is the write transaction: what the policy reads through it is
        what the decision is committed on top of. The answer matters for
        approvals only (a rejection or a void always resolves the diversion).
        """
        ...


def has_users(conn: Connection) -> bool:
    """True when governance has at least one user in these books."""
    return conn.execute(select(schema.users.c.name).limit(1)).first() is not None


class WorkingCopy:
    """The books of one person: every decision is taken, the first approval posts.

    Only while the books have no users: with a user, whoever decides must go
    through the governance policy, so this one refuses (fail closed).
    """

    def review(self, conn: Connection, ballot: Ballot) -> bool:
        """Admit the ballot on books without users; refuse it on books with users."""
        if has_users(conn):
            raise PermissionDenied(
                f"diversion {ballot.diversion.id!r}: these books have users, so a "
                f"{ballot.decision.value} needs the governance rules "
                "(gpuledger.governance.service), not the working copy's"
            )
        return True


class RecordedHistory:
    """A scenario import's own diversions: proposed, posted or voided as the file records them.

    Used for the diversions an import proposes itself. The authority is the
    import's (interfaces require an admin of every org the file names); a
    diversion already pending in the books is decided through the ledger's
    policy, never by an import.
    """

    def review(self, conn: Connection, ballot: Ballot) -> bool:
        """Admit every ballot: the file states what happened."""
        return True


#: The policy of books opened without one: the single-person working copy.
WORKING_COPY = WorkingCopy()
#: The policy of the diversions a scenario import proposes itself.
RECORDED_HISTORY = RecordedHistory()
