"""The ledger's approval policy: given explicitly, asked under the write lock.

A policy double stands for governance here (its real implementation is tested
in ``tests/governance``): these tests show what the ledger hands the policy
(every earlier approval, read in the write transaction, whoever recorded them)
and that it posts exactly when the policy says the approvals are complete.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Connection

from gpuledger import domain as d
from gpuledger.domain import Decision, DiversionStatus
from gpuledger.ledger import ApprovalPolicy, Ballot, Ledger

from .conftest import FakeClock, reference


class Quorum:
    """Posts once ``n`` distinct people approved; refuses anyone named in ``barred``."""

    def __init__(self, n: int, barred: tuple[str, ...] = ()) -> None:
        self.n = n
        self.barred = barred
        self.ballots: list[Ballot] = []

    def review(self, conn: Connection, ballot: Ballot) -> bool:
        assert conn.in_transaction()
        self.ballots.append(ballot)
        if ballot.actor in self.barred:
            raise d.PermissionDenied(f"user {ballot.actor!r} may not decide")
        return len({*ballot.approvers, ballot.actor}) >= self.n


def test_the_double_is_an_approval_policy() -> None:
    policy: ApprovalPolicy = Quorum(2)
    assert policy.review is not None


@pytest.fixture
def books(ledger: Ledger) -> Ledger:
    ledger.import_scenario(reference())
    ledger.ship(reference().lots[0], actor="ops")  # 100 units of L1 in transit at a
    ledger.propose_diversion(
        d.Diversion("D1", "L1", 30, "a", "b", date(2023, 12, 6), status=DiversionStatus.PENDING),
        actor="carol",
        approvals=Quorum(2),
    )
    return ledger


def test_it_posts_exactly_when_the_policy_says_the_approvals_are_complete(books: Ledger) -> None:
    policy = Quorum(2)
    assert books.decide("D1", Decision.APPROVE, actor="erin", approvals=policy) is (
        DiversionStatus.PENDING
    )
    assert books.decide("D1", Decision.APPROVE, actor="frank", approvals=policy) is (
        DiversionStatus.POSTED
    )
    assert [(b.actor, b.approvers) for b in policy.ballots] == [
        ("erin", ()),
        ("frank", ("erin",)),
    ]
    assert policy.ballots[0].diversion.id == "D1"
    assert books.diversion("D1").status is DiversionStatus.POSTED
    assert books.verify().ok


def test_approvals_recorded_through_another_ledger_are_read_under_the_lock(
    books: Ledger, ledger_url: str, clock: FakeClock
) -> None:
    other = Ledger.open(ledger_url, clock=clock, approvals=Quorum(3))
    try:
        assert other.decide("D1", Decision.APPROVE, actor="erin") is DiversionStatus.PENDING
        books.diversion("D1")  # memoised here before the next approval
        assert other.decide("D1", Decision.APPROVE, actor="frank") is DiversionStatus.PENDING
        policy = Quorum(3)
        assert books.decide("D1", Decision.APPROVE, actor="gina", approvals=policy) is (
            DiversionStatus.POSTED
        )
        assert policy.ballots[-1].approvers == ("erin", "frank")
    finally:
        other.close()


def test_the_policy_given_when_opening_is_the_default(
    books: Ledger, ledger_url: str, clock: FakeClock
) -> None:
    policy = Quorum(1, barred=("mallory",))
    governed = Ledger.open(ledger_url, clock=clock, approvals=policy)
    try:
        before = governed.event_count()
        with pytest.raises(d.PermissionDenied, match="mallory"):
            governed.decide("D1", Decision.APPROVE, actor="mallory")
        assert governed.event_count() == before  # a refusal writes nothing
        assert governed.decide("D1", Decision.APPROVE, actor="erin") is DiversionStatus.POSTED
        assert [b.actor for b in policy.ballots] == ["mallory", "erin"]
    finally:
        governed.close()


def test_a_proposal_is_a_ballot_too(books: Ledger) -> None:
    policy = Quorum(1, barred=("mallory",))
    other = d.Diversion("D2", "L1", 5, "a", "c", date(2023, 12, 7), status=DiversionStatus.PENDING)
    with pytest.raises(d.PermissionDenied):
        books.propose_diversion(other, actor="mallory", approvals=policy)
    assert [(b.decision, b.actor) for b in policy.ballots] == [(Decision.PROPOSE, "mallory")]
    books.propose_diversion(other, actor="carol", approvals=policy)
    assert books.diversion("D2").status is DiversionStatus.PENDING


def test_decisions_on_a_decided_diversion_ask_the_policy_only_who_may(books: Ledger) -> None:
    books.decide("D1", Decision.VOID, actor="carol", approvals=Quorum(1))
    policy = Quorum(1)
    with pytest.raises(d.InvalidTransition, match="voided"):
        books.decide("D1", Decision.APPROVE, actor="erin", approvals=policy)
    assert books.decide("D1", Decision.REJECT, actor="erin", approvals=policy) is (
        DiversionStatus.VOIDED
    )
    # Settled ballots: the policy may refuse someone with no standing, nothing more.
    assert policy.ballots and all(b.settled for b in policy.ballots)
