"""The batch path writes the same events as the general path: same chain head.

``Ledger.post_batch`` validates and renders many verbs at once; posting the same
verbs one by one through ``deploy``, ``fail``, ``receive``... must give byte for
byte the same events, so the same SHA-256 chain head. The general path always runs
on SQLite here; the batch path on each backend (the hashes know no backend).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import pytest

from gpuledger import domain as d
from gpuledger.domain import GpuledgerError, InsufficientUnits
from gpuledger.domain import TransferKind as K
from gpuledger.ledger import Ledger, bulk
from gpuledger.ledger.approvals import WORKING_COPY
from gpuledger.ledger.chain import read_head
from gpuledger.ledger.importer import Receipt
from gpuledger.ledger.work import Work

from .conftest import H100, NOW, FakeClock, reference


def ops() -> list[object]:
    """Orders, lots, receipts, movements (with and without a lot), a diversion."""
    day = date(2023, 12, 20)
    return [
        d.Order("PO-B", "b", "nvidia", H100, 500, date(2023, 3, 1)),
        d.Lot("LB1", "PO-B", 200, date(2023, 12, 2), date(2023, 12, 9), "b"),
        Receipt("LB1", date(2023, 12, 9)),
        d.Lot("L1", "PO-A", 100, date(2023, 12, 1), date(2023, 12, 10), "a"),
        Receipt("L1", date(2023, 12, 10)),
        d.Movement("M1", K.DEPLOY, 150, day, "b", lot="LB1", cluster="cb"),
        d.Movement("M2", K.DEPLOY, 30, day, "a", lot="L1", cluster="ca"),
        d.Movement("M3", K.DEPLOY, 20, day, "a", cluster="ca"),  # no lot: first shipped
        d.Movement("M4", K.FAIL, 7, date(2023, 12, 21), "b", lot="LB1", cluster="cb"),
        d.Movement("M5", K.RETURN, 3, date(2023, 12, 22), "b", lot="LB1"),
        d.Diversion("D1", "LB1", 40, "b", "c", date(2023, 12, 23)),
        d.Movement("M6", K.DEPLOY, 1, date(2023, 12, 24), "b", lot="LB1", cluster="cb"),
    ]


def head(books: Ledger) -> tuple[int, str]:
    """The chain head (seq, hash)."""
    with books.engine.connect() as conn:
        return read_head(conn)


def one_by_one(books: Ledger, items: list[object]) -> None:
    """The general path: one verb, one transaction."""
    for op in items:
        if isinstance(op, d.Order):
            books.order(op, actor="loader")
        elif isinstance(op, d.Lot):
            books.ship(op, actor="loader")
        elif isinstance(op, Receipt):
            books.receive(op.lot, op.on, actor="loader")
        elif isinstance(op, d.Movement):
            verb = {K.DEPLOY: books.deploy, K.FAIL: books.fail, K.RETURN: books.return_units}
            verb[op.op](op, actor="loader")
        else:
            assert isinstance(op, d.Diversion)
            books.propose_diversion(op, actor="loader")


@pytest.mark.parametrize("split", [1, 3, 100], ids=["batches-of-1", "batches-of-3", "one-batch"])
def test_batch_path_gives_the_general_paths_chain_head(
    ledger_url: str, tmp_path: Path, split: int
) -> None:
    clock = FakeClock()
    general = Ledger.open(f"sqlite:///{tmp_path / 'general.db'}", clock=clock)
    batched = Ledger.open(ledger_url, clock=clock)
    try:
        for books in (general, batched):
            books.import_scenario(reference())
        one_by_one(general, ops())
        items = ops()
        for start in range(0, len(items), split):
            batched.post_batch(items[start : start + split], actor="loader")  # type: ignore[arg-type]
        assert batched.event_count() == general.event_count()
        assert head(batched) == head(general)
        assert batched.verify().ok
    finally:
        general.close()
        batched.close()


def test_analyze_only_after_real_growth(tmp_path: Path) -> None:
    books = Ledger.open(f"sqlite:///{tmp_path / 'books.db'}", clock=FakeClock())
    try:
        # at least 5,000 rows, and as many as counted at the last ANALYZE (the tables doubled)
        steps = [(4_999, False), (1, True), (1_000, False), (4_000, True), (9_999, False)]
        steps += [(1, True), (19_999, False), (1, True)]  # 10,000 = 5,000 + 5,000; then 20,000
        assert [books._grown(n) for n, _ in steps] == [due for _, due in steps]
    finally:
        books.close()


# --------------------------------------------------------------------------- the batch lane
# A batch of movements that name their lots takes ``ledger.bulk``: same events, same
# refusals, plain balances read with one aggregate query.

SETUP = ops()[:5]  # orders, lots and receipts: LB1 (200 units) to b, L1 (100) to a
DAY = date(2023, 12, 20)


@pytest.fixture
def lane(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each batch took the lane (True) or the general path (False)."""
    taken: list[bool] = []
    real = bulk.movements

    def spy(work: Work, items: Sequence[object], *, actor: str) -> bool:
        taken.append(real(work, items, actor=actor))
        return taken[-1]

    monkeypatch.setattr(bulk, "movements", spy)
    return taken


@pytest.fixture
def pair(ledger_url: str, tmp_path: Path) -> Iterator[tuple[Ledger, Ledger]]:
    """(general, batched): the same books, one written verb by verb, one by batches."""
    clock = FakeClock()
    general = Ledger.open(f"sqlite:///{tmp_path / 'general.db'}", clock=clock)
    batched = Ledger.open(ledger_url, clock=clock)
    for books in (general, batched):
        books.import_scenario(reference())
    one_by_one(general, SETUP)
    batched.post_batch(SETUP, actor="loader")  # type: ignore[arg-type]
    yield general, batched
    general.close()
    batched.close()


def mv(mid: str, op: K, qty: int, org: str, lot: str, cluster: str | None = None,
       on: date = DAY, **more: object) -> d.Movement:  # fmt: skip
    return d.Movement(mid, op, qty, on, org, lot=lot, cluster=cluster, **more)  # type: ignore[arg-type]


LANE_BATCHES = {
    "deploys": [mv("M1", K.DEPLOY, 150, "b", "LB1", "cb"), mv("M2", K.DEPLOY, 30, "a", "L1", "ca")],
    "fail-and-return": [
        mv("M1", K.DEPLOY, 150, "b", "LB1", "cb"),
        mv("M2", K.FAIL, 7, "b", "LB1", "cb", on=date(2023, 12, 21)),
        mv("M3", K.RETURN, 3, "b", "LB1", on=date(2023, 12, 22)),
        mv("M4", K.DEPLOY, 50, "b", "LB1", "cb", on=date(2023, 12, 22)),
    ],
    "odd-strings": [
        mv('M"1\\', K.DEPLOY, 1, "b", "LB1", "cb", source='note é ✓ "q"', known_on=DAY),
        mv("Mé\u2028\x01", K.DEPLOY, 2, "a", "L1", "ca", source="\\n"),
        mv("M\U0001f600", K.DEPLOY, 3, "a", "L1", "ca", known_on=date(2023, 12, 31)),
    ],
    # more events and transfers than chain.COPY_FROM: PostgreSQL gets them by binary COPY
    "many": [
        mv(f"M{n}", K.DEPLOY, 1, *(("b", "LB1", "cb") if n % 2 else ("a", "L1", "ca")))
        for n in range(80)
    ],
}


@pytest.mark.parametrize("moves", LANE_BATCHES.values(), ids=LANE_BATCHES.keys())
def test_lane_gives_the_general_paths_chain_head(
    pair: tuple[Ledger, Ledger], lane: list[bool], moves: list[d.Movement]
) -> None:
    general, batched = pair
    one_by_one(general, moves)  # type: ignore[arg-type]
    report = batched.post_batch(moves, actor="loader")
    assert lane == [True]
    assert (report.new_events, report.new_transfers) == (len(moves), len(moves))
    assert head(batched) == head(general)
    assert batched.verify().ok
    assert batched.balances() == general.balances()


REFUSED = {
    "beyond-the-lot": mv("X", K.DEPLOY, 51, "b", "LB1", "cb"),
    "unknown-lot": mv("X", K.DEPLOY, 1, "b", "NOPE", "cb"),
    "unknown-org": mv("X", K.DEPLOY, 1, "zz", "LB1", "cb"),
    "unknown-cluster": mv("X", K.DEPLOY, 1, "b", "LB1", "nope"),
    "cluster-of-another-org": mv("X", K.DEPLOY, 1, "b", "LB1", "ca"),
    "no-cluster": mv("X", K.FAIL, 1, "b", "LB1"),
    "zero": mv("X", K.DEPLOY, 0, "b", "LB1", "cb"),
    "nothing-failed": mv("X", K.RETURN, 1, "b", "LB1"),
}


@pytest.mark.parametrize("bad", REFUSED.values(), ids=REFUSED.keys())
def test_lane_refuses_as_the_general_path_and_writes_nothing(
    pair: tuple[Ledger, Ledger], bad: d.Movement
) -> None:
    general, batched = pair
    first = mv("M1", K.DEPLOY, 150, "b", "LB1", "cb")
    one_by_one(general, [first])
    with pytest.raises(GpuledgerError) as expected:
        one_by_one(general, [bad])
    before = batched.event_count()
    with pytest.raises(type(expected.value)) as got:
        batched.post_batch([first, bad], actor="loader")
    assert str(got.value) == str(expected.value)
    assert batched.event_count() == before


def test_lane_counts_pending_reservations_and_their_release(
    pair: tuple[Ledger, Ledger], lane: list[bool]
) -> None:
    general, batched = pair
    proposal = d.Diversion("D1", "LB1", 40, "b", "c", date(2023, 12, 23))
    after = date(2023, 12, 24)
    for books in pair:
        books.propose_diversion(proposal, actor="loader")  # 40 of b's 200 reserved
    with pytest.raises(InsufficientUnits) as expected:
        general.deploy(mv("M1", K.DEPLOY, 161, "b", "LB1", "cb", on=after), actor="loader")
    with pytest.raises(InsufficientUnits) as got:
        batched.post_batch([mv("M1", K.DEPLOY, 161, "b", "LB1", "cb", on=after)], actor="loader")
    assert str(got.value) == str(expected.value)
    assert "has 160 unit(s)" in str(got.value)
    for books in pair:
        books.post_batch([mv("M1", K.DEPLOY, 160, "b", "LB1", "cb", on=after)], actor="loader")
        books.decide("D1", d.Decision.VOID, actor="loader")  # the 40 released
        books.post_batch([mv("M2", K.DEPLOY, 40, "b", "LB1", "cb", on=after)], actor="loader")
    assert lane == [True] * 4  # a refusal returns nothing
    assert head(batched) == head(general)


def test_backdated_movement_leaves_the_lane(pair: tuple[Ledger, Ledger], lane: list[bool]) -> None:
    general, batched = pair
    later, earlier = (
        mv("M1", K.DEPLOY, 10, "b", "LB1", "cb"),
        mv("M2", K.DEPLOY, 10, "b", "LB1", "cb", on=date(2023, 12, 15)),
    )
    one_by_one(general, [later, earlier])
    batched.post_batch([later], actor="loader")
    batched.post_batch([earlier], actor="loader")  # before the lot's latest row
    assert lane == [True, False]
    assert head(batched) == head(general)


def test_tallies_are_the_lot_books_balances(
    pair: tuple[Ledger, Ledger],
) -> None:
    _, books = pair
    books.post_batch([mv("M1", K.DEPLOY, 20, "b", "LB1", "cb")], actor="loader")
    for n, decision in enumerate([d.Decision.VOID, d.Decision.APPROVE, None]):
        proposal = d.Diversion(f"D{n}", "LB1", 10 + n, "b", "c", date(2023, 12, 23))
        books.propose_diversion(proposal, actor="loader")
        if decision is not None:
            books.decide(proposal.id, decision, actor="loader")
    lots = ["LB1", "L1", "L2", "NOPE"]
    with books.engine.connect() as conn, conn.begin():
        tallies = bulk.read_tallies(conn, lots)
        work = Work(conn, NOW, WORKING_COPY)
        work.preload_lots(lots)
        for lot in lots:
            book = work.lot_book(lot)
            want = {a: (b.posted, b.pend_debit, b.pend_credit) for a, b in book.bal.items()}
            got = {a: (b.posted, b.pend_debit, b.pend_credit) for a, b in tallies[lot].bal.items()}
            assert got == want, lot
            assert tallies[lot].latest == book._latest, lot
    assert tallies["LB1"].units[("org:b", "stock")].pend_debit == 12  # D2 still pending
