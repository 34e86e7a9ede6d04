"""Governed diversions through ``governance.service``: the rules applied under the write lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gpuledger import domain as d
from gpuledger.domain import Decision, DiversionStatus, OrgRole
from gpuledger.governance import service
from gpuledger.governance.store import Governance
from gpuledger.ledger import DiversionView, Ledger

from .conftest import APPROVERS, NOW, diversion, setup_books


@pytest.mark.parametrize("to", ["x", "xai"], ids=["related", "unrelated"])
def test_it_posts_at_the_last_required_approval(
    governed: tuple[Ledger, Governance], to: str
) -> None:
    books, gov = governed
    service.propose(books, gov, "planner", diversion("D1", to, qty=40))
    *first, last = APPROVERS[to]
    for who in first:
        view, _ = service.decide(books, gov, who, "D1", Decision.APPROVE)
        assert view.status is DiversionStatus.PENDING
    view, _ = service.decide(books, gov, last, "D1", Decision.APPROVE)
    assert view.status is DiversionStatus.POSTED
    assert [x.actor for x in view.decisions] == ["planner", *APPROVERS[to]]


def test_a_stale_view_read_before_the_lock_cannot_strand_a_diversion(
    governed: tuple[Ledger, Governance], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The old service read the approvers from this view, outside the write lock: with
    # approvals committed meanwhile by other processes, the last approval never posted.
    books, gov = governed
    service.propose(books, gov, "planner", diversion("D1", "x"))
    stale = books.diversion("D1")  # no approval yet
    service.decide(books, gov, "tina", "D1", Decision.APPROVE)
    service.decide(books, gov, "xavier", "D1", Decision.APPROVE)

    def as_read_before_the_others_committed(diversion_id: str) -> DiversionView:
        return stale

    monkeypatch.setattr(books, "diversion", as_read_before_the_others_committed)
    service.decide(books, gov, "audrey", "D1", Decision.APPROVE)
    monkeypatch.undo()
    assert books.diversion("D1").status is DiversionStatus.POSTED


def test_the_rules_are_checked_against_the_approvals_in_the_books(
    governed: tuple[Ledger, Governance], monkeypatch: pytest.MonkeyPatch
) -> None:
    books, gov = governed
    service.propose(books, gov, "planner", diversion("D1", "x"))
    stale = books.diversion("D1")
    service.decide(books, gov, "tina", "D1", Decision.APPROVE)
    monkeypatch.setattr(books, "diversion", lambda diversion_id: stale)
    before = books.event_count()
    with pytest.raises(d.PermissionDenied, match="already approved"):
        service.decide(books, gov, "tina", "D1", Decision.APPROVE)
    assert books.event_count() == before


@pytest.mark.parametrize(
    ("proposer", "user", "decision", "reason"),
    [
        ("tina", "tina", Decision.APPROVE, "proposed"),
        ("planner", "viv", Decision.APPROVE, "needs one of"),
        ("planner", "viv", Decision.VOID, "only its proposer"),
    ],
    ids=["the-proposer", "a-viewer", "a-viewer-voids"],
)
def test_refused_decisions_write_nothing(
    governed: tuple[Ledger, Governance], proposer: str, user: str, decision: Decision, reason: str
) -> None:
    books, gov = governed
    service.propose(books, gov, proposer, diversion("D1", "x"))
    before = books.event_count()
    with pytest.raises(d.PermissionDenied, match=reason):
        service.decide(books, gov, user, "D1", decision)
    assert books.event_count() == before


def test_a_viewer_may_not_propose(governed: tuple[Ledger, Governance]) -> None:
    books, gov = governed
    with pytest.raises(d.PermissionDenied, match="planner role"):
        service.propose(books, gov, "viv", diversion("D1", "x"))
    assert books.diversions() == []


def test_a_governed_diversion_is_immutable_too(governed: tuple[Ledger, Governance]) -> None:
    books, gov = governed
    service.propose(books, gov, "planner", diversion("D1", "x", reason="first"))
    with pytest.raises(d.IdempotencyConflict, match="D1"):
        service.propose(books, gov, "planner", diversion("D1", "x", reason="second"))
    view, _ = service.propose(books, gov, "planner", diversion("D1", "x", reason="first"))
    assert view.diversion.reason == "first"


def test_a_decision_on_books_replaced_under_the_process_uses_their_grants(
    tmp_path: Path,
) -> None:
    """Decisions read the grants under the write lock, never a directory kept for its
    heads: other books with the same heads (xavier revoked there) copied over these while
    the process runs must refuse xavier (hostile review of a kept-directory shortcut)."""
    path, other_path = tmp_path / "books.db", tmp_path / "other.db"
    for p in (path, other_path):
        setup_books(f"sqlite:///{p}")
    other = Ledger.open(f"sqlite:///{other_path}", clock=lambda: NOW)
    other_gov = Governance(other.engine, lambda: NOW)
    other_gov.revoke("xavier", OrgRole.APPROVER, org="x", actor="root")  # seq N + 1 there
    service.propose(other, other_gov, "planner", diversion("D1", "x"))
    for who in ("tina", "audrey"):
        service.decide(other, other_gov, who, "D1", Decision.APPROVE)
    other.close()
    books = Ledger.open(f"sqlite:///{path}", clock=lambda: NOW)
    gov = Governance(books.engine, lambda: NOW)
    try:
        gov.grant("viv", OrgRole.VIEWER, org="x", actor="root")  # seq N + 1 here
        service.propose(books, gov, "planner", diversion("D1", "x"))
        service.decide(books, gov, "tina", "D1", Decision.APPROVE)
        service.decide(books, gov, "audrey", "D1", Decision.APPROVE)
        with sqlite3.connect(other_path) as source, sqlite3.connect(path) as target:
            source.backup(target)
        with pytest.raises(d.PermissionDenied):
            service.decide(books, gov, "xavier", "D1", Decision.APPROVE)
    finally:
        books.close()
