"""The batch path writes the same events as the general path: same chain head.

``Ledger.post_batch`` validates and renders many verbs at once; posting the same
verbs one by one through ``deploy``, ``fail``, ``receive``... must give byte for
byte the same events, so the same SHA-256 chain head. The general path always runs
on SQLite here; the batch path on each backend (the hashes know no backend).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gpuledger import domain as d
from gpuledger.domain import TransferKind as K
from gpuledger.ledger import Ledger
from gpuledger.ledger.chain import read_head
from gpuledger.ledger.importer import Receipt

from .conftest import H100, FakeClock, reference


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
        # at least 5,000 rows, and a quarter of the rows counted at the last ANALYZE
        steps = [(4_999, False), (1, True), (1_000, False), (100_000, True), (20_000, False)]
        steps += [(6_499, False), (1, True)]  # 26,500 = (5,000 + 101,000) / 4
        assert [books._grown(n) for n, _ in steps] == [due for _, due in steps]
    finally:
        books.close()
