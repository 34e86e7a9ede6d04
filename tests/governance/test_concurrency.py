"""Approvers deciding at the same moment from separate processes, on SQLite and PostgreSQL.

Each test starts its worker processes once: every required approver (two for
unrelated orgs, three for related ones) and two re-proposers, one proposing the
same content again, one another content. Every round the main process proposes
a new diversion and releases the workers together (a barrier): the approvers
approve it at once while the re-proposals race them, through
``governance.service``. After every round: the diversion posted exactly once,
every approval recorded, the same content a no-op and the other content
refused, nothing left reserved. After the 50 rounds ``verify`` passes.
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

import pytest

from gpuledger import domain as d
from gpuledger.domain import Bucket, Decision, DiversionStatus, Phase
from gpuledger.governance import service
from gpuledger.governance.store import Governance
from gpuledger.ledger import Ledger

from .conftest import APPROVERS, NOW, diversion

ROUNDS = 50
TIMEOUT = 120  # seconds any one wait may take before the test fails


def _worker(url: str, user: str, role: str, to: str, barrier: Any, results: Any) -> None:
    """Each round: wait for the others, then approve (or re-propose) the round's diversion."""
    books = Ledger.open(url, clock=lambda: NOW)
    gov = Governance(books.engine, lambda: NOW)
    try:
        for n in range(ROUNDS):
            barrier.wait(TIMEOUT)
            ident = f"D-{to}-{n}"
            try:
                if role == "approve":
                    view, _ = service.decide(books, gov, user, ident, Decision.APPROVE)
                    outcome = view.status.value if view.status else "none"
                else:
                    reason = "round" if role == "same" else "rewritten"
                    service.propose(books, gov, user, diversion(ident, to, reason=reason))
                    outcome = "proposed"
            except d.GpuledgerError as exc:
                outcome = type(exc).__name__
            results.put((n, user, role, outcome))
    finally:
        books.close()


def _run(url: str, to: str, reproposers: tuple[str, ...]) -> None:
    books = Ledger.open(url, clock=lambda: NOW)
    gov = Governance(books.engine, lambda: NOW)
    approvers = APPROVERS[to]
    roles = [(who, "approve") for who in approvers] + [("planner", r) for r in reproposers]
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(len(roles) + 1), ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(url, who, role, to, barrier, results))
        for who, role in roles
    ]
    for w in workers:
        w.start()
    try:
        for n in range(ROUNDS):
            ident = f"D-{to}-{n}"
            service.propose(books, gov, "planner", diversion(ident, to, reason="round"))
            barrier.wait(TIMEOUT)
            outcomes = sorted(results.get(timeout=TIMEOUT)[1:] for _ in roles)
            check_round(books, ident, approvers, outcomes)
    finally:
        for w in workers:
            w.join(TIMEOUT)
            if w.is_alive():
                w.kill()
    assert all(w.exitcode == 0 for w in workers)
    assert books.verify().ok
    stock = [b for b in books.balances() if b.owner == "org:tesla" and b.bucket is Bucket.STOCK]
    assert [(b.posted, b.pending) for b in stock] == [(10_000 - ROUNDS, 0)]
    books.close()


def check_round(
    books: Ledger, ident: str, approvers: tuple[str, ...], outcomes: list[tuple[str, ...]]
) -> None:
    """Posted exactly once by the last approval, every approval recorded, re-proposals right."""
    view = books.diversion(ident)
    assert view.status is DiversionStatus.POSTED, (ident, outcomes)
    phases = sorted(t.phase.value for t in view.transfers)
    assert phases == [Phase.PENDING.value, Phase.POST.value], (ident, phases)
    approved = [x.actor for x in view.decisions if x.decision is Decision.APPROVE]
    assert sorted(approved) == sorted(approvers), (ident, approved)
    # Each approver's answer is the view read after its own decision: pending, or posted
    # when the last approval (its own or a later one) is in by then.
    answers = {o for who, role, o in outcomes if role == "approve"}
    assert "posted" in answers and answers <= {"pending", "posted"}, outcomes
    for _, role, outcome in outcomes:
        if role == "same":
            assert outcome == "proposed", outcomes
        elif role == "rewritten":
            assert outcome == "IdempotencyConflict", outcomes


@pytest.mark.slow
@pytest.mark.parametrize("to", ["xai", "x"], ids=["2-unrelated", "3-related"])
def test_approvers_at_once_with_reproposals_racing_post_exactly_once(
    books_url: str, to: str
) -> None:
    _run(books_url, to, reproposers=("same", "rewritten"))
