"""The invariants of a unit of work fire when broken, and nothing is written.

The verbs never break them, so each test breaks one on purpose with a test
double: a lot book that forgets the debit side of a transfer (units created
from nothing), or a transfer added behind the verbs' checks (an overdraft).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gpuledger import domain as d
from gpuledger.domain import Bucket, Phase, TransferKind, day_start, org_account
from gpuledger.ledger import WORKING_COPY, Ledger, Transfer
from gpuledger.ledger import work as work_module
from gpuledger.ledger.invariants import InvariantBroken
from gpuledger.ledger.lot_book import LotBook
from gpuledger.ledger.work import Work

from .conftest import H100, reference

NOW = datetime(2026, 1, 5, tzinfo=UTC)


class ForgetfulLotBook(LotBook):
    """A lot book whose ``add`` credits but never debits: units appear from nowhere."""

    def add(self, t: Transfer) -> None:
        super().add(t)
        if t.phase is Phase.SINGLE:
            self.bal[t.debit].posted += t.qty  # undo the debit


@pytest.fixture
def books(ledger: Ledger) -> Ledger:
    ledger.import_scenario(reference())
    ledger.ship(reference().lots[0], actor="ops")  # 100 units of L1 in transit at a
    return ledger


def test_units_created_from_nothing_break_conservation(
    books: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(work_module, "LotBook", ForgetfulLotBook)
    before = books.event_count()
    with pytest.raises(InvariantBroken, match="lot L1: units do not sum to zero"):
        books.receive("L1", date(2023, 12, 10), actor="ops")
    assert books.event_count() == before
    monkeypatch.undo()
    books.receive("L1", date(2023, 12, 10), actor="ops")  # the real book keeps the sums
    assert books.verify().ok


def test_an_overdraft_behind_the_verbs_back_is_caught_before_writing(books: Ledger) -> None:
    before = books.event_count()
    with (
        pytest.raises(InvariantBroken, match=r"org:a/in_transit holds -20 unit\(s\) of lot L1"),
        books.engine.connect() as conn,
        conn.begin(),
    ):
        work = Work(conn, NOW, approvals=WORKING_COPY)
        overdraft = Transfer(
            "test:overdraft",
            TransferKind.RECEIVE,
            Phase.SINGLE,
            org_account("a", Bucket.IN_TRANSIT),
            org_account("a", Bucket.STOCK),
            H100,
            "L1",
            120,
            day_start(date(2023, 12, 10)),
            NOW,
        )
        work.lot_book("L1").add(overdraft)  # no check: straight into the book
        work._touched.add("L1")
        work.flush()
    assert books.event_count() == before


def test_the_invariants_hold_after_every_verb(books: Ledger) -> None:
    books.receive("L1", date(2023, 12, 10), actor="ops")
    books.deploy(
        d.Movement("M1", TransferKind.DEPLOY, 60, date(2023, 12, 11), "a", cluster="ca"),
        actor="ops",
    )
    books.propose_diversion(
        d.Diversion("D1", "L1", 30, "a", "b", date(2023, 12, 12), status=d.DiversionStatus.PENDING),
        actor="carol",
    )
    books.decide("D1", d.Decision.APPROVE, actor="erin")
    with books.engine.connect() as conn, conn.begin():
        work = Work(conn, NOW, approvals=WORKING_COPY)
        book = work.lot_book("L1")
        assert sum(b.posted for b in book.bal.values()) == 0
        assert all(b.available >= 0 for a, b in book.bal.items() if not a.may_go_negative)
